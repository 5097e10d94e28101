/**
 * One client past `limits.maxOutputBuffer` is one limit disconnection. The session counts and
 * destroys the socket when a write leaves more than the limit buffered, while the socket's
 * 'close' event, which marks the session closed, comes later. Replies written in the meantime
 * once counted the same client again, so respguard_limit_disconnects_total and the audit line
 * overcounted. Replies that respguard makes itself, between forwarded ones, make several writes
 * in one tick, so the test mixes them in.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { RawClient, encodeCommand } from '../helpers/resp-client.js';

let upstream: RedisServer;
let proxy: ProxyProcess;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxyProcess(upstream, {
    users: { app: 'on >app-pass ~* +@all' },
    extraYaml: 'limits:\n  maxOutputBuffer: 1048576\n',
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

describe('output buffer limit', () => {
  it('counts one disconnection per client', async () => {
    const setup = await RawClient.connect(proxy.port);
    expect(await setup.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    expect(await setup.call(['SET', 'limit:value', Buffer.alloc(256 * 1024, 0x61)])).toBe('+OK\r\n');
    setup.close();

    const sleeper = net.connect({ host: '127.0.0.1', port: proxy.port });
    sleeper.on('error', () => {});
    await new Promise((resolve) => sleeper.once('connect', resolve));
    sleeper.pause();
    const pair = Buffer.concat([encodeCommand(['GET', 'limit:value']), encodeCommand(['CLIENT', 'GETNAME'])]);
    sleeper.write(Buffer.concat([encodeCommand(['AUTH', 'app', 'app-pass']), ...Array.from({ length: 200 }, () => pair)]));

    let connections = 1;
    const deadline = Date.now() + 10_000;
    while (connections > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      connections = (await proxy.metrics()).get('respguard_client_connections') ?? -1;
    }
    sleeper.destroy();
    expect(connections).toBe(0);
    expect((await proxy.metrics()).get('respguard_limit_disconnects_total')).toBe(1);
  });
});
