/**
 * A reload that takes rights away from a user closes the open sessions that use them. These are
 * subscribers to channels the user may no longer read (as in Redis), a MONITOR the user may no
 * longer run, and sessions that the user's new `sources` reject. Other sessions keep running.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { startProxy, type TestProxy, type UserEntry } from '../helpers/proxy.js';

let upstream: RedisServer;
let proxy: TestProxy | undefined;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
});

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

afterAll(async () => {
  await upstream?.stop();
});

async function login(port: number, user: string, password: string): Promise<RawClient> {
  const client = await RawClient.connect(port);
  expect(await client.call(['AUTH', user, password])).toBe('+OK\r\n');
  return client;
}

async function start(users: Record<string, UserEntry>): Promise<TestProxy> {
  proxy = await startProxy(upstream, { users, poolSize: 1 });
  return proxy;
}

describe('reload that revokes rights', () => {
  it('closes a subscriber whose channels are revoked', async () => {
    const own = await start({ sub: 'on >s-pass ~* &* +@all', other: 'on >o-pass ~* &* +@all' });
    const channels = await login(own.port, 'sub', 's-pass');
    expect(await channels.call(['SUBSCRIBE', 'news'])).toBe('*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n');
    const patterns = await login(own.port, 'sub', 's-pass');
    expect(await patterns.call(['PSUBSCRIBE', 'n*'])).toBe('*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n');
    const unaffected = await login(own.port, 'other', 'o-pass');
    expect(await unaffected.call(['SUBSCRIBE', 'news'])).toBe('*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n');

    await own.reloadUsers({ sub: 'on >s-pass ~* &other:* +@all', other: 'on >o-pass ~* &* +@all' });

    expect(await channels.waitClosed()).toBe(true);
    expect(await patterns.waitClosed()).toBe(true);
    const publisher = await login(own.port, 'other', 'o-pass');
    expect(await publisher.call(['PUBLISH', 'news', 'hello'])).toBe(':1\r\n');
    expect(await unaffected.reply()).toBe('*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n');
    const reasons = own.logs.lines.filter((line) => line.event === 'session_closed').map((line) => line.reason);
    expect(reasons).toEqual(['subscribe channels no longer allowed after a reload', 'psubscribe channels no longer allowed after a reload']);
    for (const client of [publisher, unaffected]) client.close();
  });

  it('keeps a subscriber whose channels stay allowed', async () => {
    const own = await start({ sub: 'on >s-pass ~* &news +@all' });
    const client = await login(own.port, 'sub', 's-pass');
    expect(await client.call(['SUBSCRIBE', 'news'])).toBe('*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n');

    await own.reloadUsers({ sub: 'on >s-pass ~* &news &sports +@all' });

    expect(await client.call(['PING'])).toBe('*2\r\n$4\r\npong\r\n$0\r\n\r\n');
    client.close();
  });

  it('closes a MONITOR the user may no longer run', async () => {
    const own = await start({ admin: 'on >a-pass ~* &* +@all' });
    const monitor = await login(own.port, 'admin', 'a-pass');
    expect(await monitor.call(['MONITOR'])).toBe('+OK\r\n');

    await own.reloadUsers({ admin: 'on >a-pass ~* &* +@all -monitor' });

    expect(await monitor.waitClosed()).toBe(true);
    const reasons = own.logs.lines.filter((line) => line.event === 'session_closed').map((line) => line.reason);
    expect(reasons).toEqual(['monitor no longer allowed after a reload']);
  });

  it('closes a session its new sources reject', async () => {
    const own = await start({ app: 'on >p-pass ~* +@all', local: 'on >l-pass ~* +@all' });
    const moved = await login(own.port, 'app', 'p-pass');
    const unaffected = await login(own.port, 'local', 'l-pass');

    await own.reloadUsers({
      app: { acl: 'on >p-pass ~* +@all', sources: ['10.0.0.0/8'] },
      local: { acl: 'on >l-pass ~* +@all', sources: ['127.0.0.0/8'] },
    });

    expect(await moved.waitClosed()).toBe(true);
    expect(await unaffected.call(['PING'])).toBe('+PONG\r\n');
    unaffected.close();
  });
});
