/**
 * Reading a client again after its requests filled an upstream connection's write buffer.
 * A session stops reading its client when UpstreamConnection.send() returns false and resumes
 * on that connection's 'drain'. Both cases below once left the session paused for good, so the
 * client's next request got no reply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: RedisServer;
let proxy: TestProxy;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, {
    users: { app: 'on >app-pass ~* +@all' },
    upstreamYaml: '  commandTimeoutMs: 500\n',
  });
});

afterAll(async () => {
  // SIGCONT first, in case a failed test left the server stopped.
  upstream?.process.kill('SIGCONT');
  await proxy?.stop();
  await upstream?.stop();
});

async function login(): Promise<RawClient> {
  const client = await RawClient.connect(proxy.port);
  expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
  return client;
}

describe('upstream backpressure', () => {
  // send() returns false once 1 MiB (64 x the socket's 16 KiB high-water mark) is queued. The
  // kernel may take a 2 MB write at once on loopback, and then the socket emits no 'drain', so
  // the connection must emit its own after the flush.
  it('answers the request after a 2 MB value', async () => {
    const client = await login();
    expect(await client.call(['SET', 'backpressure:big', Buffer.alloc(2_000_000, 0x78)], 5000)).toBe('+OK\r\n');
    expect(await client.call(['ECHO', 'after'], 3000)).toBe('$5\r\nafter\r\n');
    client.close();
  });

  // The session waits for 'drain' of the connection it wrote to; a connection that closes must
  // emit 'drain' too, or the wait would outlive it.
  it('reads again after the stalled connection closes', async () => {
    const client = await login();
    upstream.process.kill('SIGSTOP');
    try {
      client.send(['SET', 'backpressure:stalled', Buffer.alloc(16_000_000, 0x78)]);
      expect(await client.reply(10_000)).toBe('-ERR upstream connection lost before the reply; the command may or may not have run\r\n');
    } finally {
      upstream.process.kill('SIGCONT');
    }
    let reply = '';
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      reply = await client.call(['ECHO', 'after'], 2000);
      if (reply === '$5\r\nafter\r\n' || reply === 'TIMEOUT') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(reply).toBe('$5\r\nafter\r\n');
    client.close();
  });
});
