/**
 * The upstream goes away and comes back: clients get a prompt error reply while it is down and
 * recover by themselves, without a respguard restart.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: RedisServer | undefined;
let proxy: TestProxy | undefined;

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

describe('upstream failure', () => {
  it('answers with an error while down and recovers', async () => {
    upstream = await startRedis({ password: 'upstream-secret' });
    const port = upstream.port;
    proxy = await startProxy(upstream, { users: { app: 'on >app-pass ~* +@all' } });
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    expect(await client.call(['SET', 'k', 'before'])).toBe('+OK\r\n');

    await upstream.stop();
    const started = Date.now();
    const down = await client.call(['GET', 'k'], 3000);
    expect(down.startsWith('-ERR upstream')).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await client.call(['PING'], 3000)).toMatch(/^-ERR upstream/);

    upstream = await startRedis({ password: 'upstream-secret', port });
    let reply = '';
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      reply = await client.call(['SET', 'k', 'after'], 3000);
      if (reply === '+OK\r\n') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(reply).toBe('+OK\r\n');
    expect(await client.call(['GET', 'k'])).toBe('$5\r\nafter\r\n');
    expect(proxy.logs.lines.some((line) => line.msg === 'upstream connection failed; reconnecting')).toBe(true);
    client.close();
  });
});
