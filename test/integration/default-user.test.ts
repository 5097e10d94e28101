/**
 * The `default` user logs new connections in as in Redis, but only where a password login as
 * that user would be allowed: its `sources` hold for the automatic login too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: RedisServer;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
});

afterAll(async () => {
  await upstream?.stop();
});

async function withProxy(defaultUser: Record<string, unknown>, check: (proxy: TestProxy) => Promise<void>): Promise<void> {
  const proxy = await startProxy(upstream, { users: { default: { acl: 'on nopass ~* +@all', ...defaultUser }, app: 'on >app-pass ~* +@all' } });
  try {
    await check(proxy);
  } finally {
    await proxy.stop();
  }
}

describe('default user', () => {
  it('logs a new connection in', async () => {
    await withProxy({}, async (proxy) => {
      const client = await RawClient.connect(proxy.port);
      expect(await client.call(['ACL', 'WHOAMI'])).toBe('$7\r\ndefault\r\n');
      expect(await client.call(['PING'])).toBe('+PONG\r\n');
      client.close();
    });
  });

  it('stays out when the source is not allowed', async () => {
    await withProxy({ sources: ['10.0.0.0/8'] }, async (proxy) => {
      const client = await RawClient.connect(proxy.port);
      expect(await client.call(['PING'])).toBe('-NOAUTH Authentication required.\r\n');
      expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
      expect(await client.call(['RESET'])).toBe('+RESET\r\n');
      expect(await client.call(['PING'])).toBe('-NOAUTH Authentication required.\r\n');
      client.close();
    });
  });
});
