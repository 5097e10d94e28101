/**
 * ACL LOG through the proxy: respguard's own denials and authentication failures, in Redis's
 * entry format, never the upstream's log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: RedisServer;
let proxy: TestProxy;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, { users: { admin: 'on >admin-pass ~* &* +@all', reader: 'on >r-pass ~cache:* +get' } });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

describe('ACL LOG', () => {
  it('lists denials and authentication failures', async () => {
    const reader = await RawClient.connect(proxy.port);
    expect(await reader.call(['AUTH', 'reader', 'wrong'])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    expect(await reader.call(['AUTH', 'reader', 'r-pass'])).toBe('+OK\r\n');
    expect(await reader.call(['SET', 'cache:k', '1'])).toBe("-NOPERM this user has no permissions to run the 'set' command\r\n");
    expect(await reader.call(['GET', 'secret:k'])).toBe('-NOPERM this user has no permissions to access one of the keys used as arguments\r\n');
    reader.close();

    const admin = await RawClient.connect(proxy.port);
    expect(await admin.call(['AUTH', 'admin', 'admin-pass'])).toBe('+OK\r\n');
    const log = await admin.call(['ACL', 'LOG']);
    expect(log.startsWith('*3\r\n')).toBe(true);
    const entries = log.split('$5\r\ncount\r\n').slice(1);
    expect(entries).toHaveLength(3);
    expect(entries[0]).toContain('$6\r\nreason\r\n$3\r\nkey\r\n');
    expect(entries[0]).toContain('$6\r\nobject\r\n$8\r\nsecret:k\r\n');
    expect(entries[1]).toContain('$6\r\nreason\r\n$7\r\ncommand\r\n');
    expect(entries[1]).toContain('$6\r\nobject\r\n$3\r\nset\r\n');
    expect(entries[2]).toContain('$6\r\nreason\r\n$4\r\nauth\r\n');
    expect(entries[2]).toContain('$8\r\nusername\r\n$6\r\nreader\r\n');
    expect(log.includes('wrong')).toBe(false);
    expect(await admin.call(['ACL', 'LOG', 'RESET'])).toBe('+OK\r\n');
    expect(await admin.call(['ACL', 'LOG'])).toBe('*0\r\n');
    admin.close();
  });
});
