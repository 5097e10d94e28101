/**
 * A session that closes after a protocol error must be released once its client leaves.
 * When a forwarded request fills an upstream connection's write buffer, the session pauses its
 * client socket until the connection drains. A session that was closing after a protocol error
 * in the same read once stayed paused for good: bytes the client sent after the error stayed
 * unread in front of its FIN, the socket never ended, and the session, its client slot and any
 * pinned connection were held until respguard stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient, encodeCommand } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: RedisServer;
let proxy: TestProxy;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, {
    users: { app: 'on >app-pass ~* +@all' },
    extraYaml: 'limits:\n  maxClients: 1\n',
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

describe('closing session', () => {
  it('is released when its client leaves', async () => {
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    // 2 MB is more than the 1 MiB an upstream connection queues before its senders wait.
    client.send(Buffer.concat([encodeCommand(['SET', 'closing:big', Buffer.alloc(2_000_000, 0x61)]), Buffer.from('*1\r\n$x\r\n')]));
    await new Promise((resolve) => setTimeout(resolve, 1));
    client.send('PING\r\n');
    expect(await client.reply()).toBe('+OK\r\n');
    expect(await client.reply()).toBe('-ERR Protocol error: invalid bulk length\r\n');
    expect(await client.waitClosed()).toBe(true);
    client.close();

    // maxClients is 1, so the next client gets in only once the first session is gone.
    let reply = '';
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const next = await RawClient.connect(proxy.port);
      reply = await next.call(['AUTH', 'app', 'app-pass']);
      next.close();
      if (reply === '+OK\r\n') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(reply).toBe('+OK\r\n');
    // The last probe client has closed too; its session goes once the server sees the close.
    const settled = Date.now() + 3000;
    while (proxy.server.context.sessions.size > 0 && Date.now() < settled) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(proxy.server.context.sessions.size).toBe(0);
  });
});
