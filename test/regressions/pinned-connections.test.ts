/**
 * Pinned upstream connections given back after pipelined state commands. A session that gives
 * up its pinned connection while requests are still in flight on it keeps the connection in
 * `retiring` until they are answered. A state command pipelined behind them once took a second
 * connection and overwrote `retiring`, so the first was never released and counted against
 * upstream.pool.maxPinned for good; the session now takes the retiring connection back.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient, encodeCommand } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: RedisServer;
let proxy: TestProxy;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
});

// Each test gets its own proxy, so that a connection leaked by one cannot change another.
beforeEach(async () => {
  proxy = await startProxy(upstream, { users: { app: 'on >app-pass ~* &* +@all' }, maxPinned: 2 });
});

afterEach(async () => {
  await proxy?.stop();
});

afterAll(async () => {
  await upstream?.stop();
});

async function login(): Promise<RawClient> {
  const client = await RawClient.connect(proxy.port);
  expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
  return client;
}

/** Sends `commands` in one write and returns their replies. */
async function pipeline(client: RawClient, commands: string[][]): Promise<string[]> {
  client.send(Buffer.concat(commands.map((command) => encodeCommand(command))));
  const replies: string[] = [];
  for (const _ of commands) replies.push(await client.reply());
  return replies;
}

/** Waits until no pinned connection is handed out, or 3 s; returns the count handed out. */
async function settledActivePinned(): Promise<number> {
  const deadline = Date.now() + 3000;
  while (proxy.server.context.pool.pinned.stats().active > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return proxy.server.context.pool.pinned.stats().active;
}

describe('pinned connections', () => {
  it('are all released after one transaction', async () => {
    const client = await login();
    expect(await pipeline(client, [['MULTI'], ['EXEC']])).toEqual(['+OK\r\n', '*0\r\n']);
    client.close();
    expect(await settledActivePinned()).toBe(0);
  });

  it('are all released after two pipelined transactions', async () => {
    const client = await login();
    expect(await pipeline(client, [['MULTI'], ['EXEC'], ['MULTI'], ['EXEC']])).toEqual(['+OK\r\n', '*0\r\n', '+OK\r\n', '*0\r\n']);
    client.close();
    expect(await settledActivePinned()).toBe(0);
  });

  it('stay available after pipelined subscriptions', async () => {
    // A leak of one connection per client would use up maxPinned (2) after two clients.
    for (let i = 0; i < 2; i++) {
      const client = await login();
      const replies = await pipeline(client, [['SUBSCRIBE', 'pin:a'], ['UNSUBSCRIBE', 'pin:a'], ['SUBSCRIBE', 'pin:a'], ['UNSUBSCRIBE', 'pin:a']]);
      expect(replies).toEqual([
        '*3\r\n$9\r\nsubscribe\r\n$5\r\npin:a\r\n:1\r\n',
        '*3\r\n$11\r\nunsubscribe\r\n$5\r\npin:a\r\n:0\r\n',
        '*3\r\n$9\r\nsubscribe\r\n$5\r\npin:a\r\n:1\r\n',
        '*3\r\n$11\r\nunsubscribe\r\n$5\r\npin:a\r\n:0\r\n',
      ]);
      client.close();
    }
    const other = await login();
    expect(await other.call(['MULTI'])).toBe('+OK\r\n');
    other.close();
  });
});
