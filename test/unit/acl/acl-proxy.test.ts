/**
 * ACL subcommands through a running respguard. The session replies to them from respguard's
 * own policy, so they never reach the upstream and the upstream's users stay hidden. The
 * blocklist applies to them as to forwarded commands: a listed subcommand is blocked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type TestProxy } from '../../helpers/proxy.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { RawClient } from '../../helpers/resp-client.js';

describe('ACL subcommands through the proxy', () => {
  let redis: RedisServer;
  let proxy: TestProxy;
  let client: RawClient;

  beforeAll(async () => {
    redis = await startRedis({ password: 'upstream-secret' });
    proxy = await startProxy(redis, {
      users: { admin: 'on >admin-pw ~* &* +@all', reader: 'on >reader-pw ~cache:* +get +acl|whoami' },
      extraYaml: 'blockCommands: ["ACL|USERS", "ACL|LIST", FLUSHALL]\n',
    });
    client = await RawClient.connect(proxy.port);
    expect(await client.call(['AUTH', 'admin', 'admin-pw'])).toBe('+OK\r\n');
  });

  afterAll(async () => {
    client?.close();
    await proxy?.stop();
    await redis?.stop();
  });

  it('blocks listed ACL subcommands', async () => {
    expect(await client.call(['ACL', 'USERS'])).toBe("-ERR command 'acl|users' is blocked by respguard\r\n");
    expect(await client.call(['ACL', 'LIST'])).toBe("-ERR command 'acl|list' is blocked by respguard\r\n");
  });

  it('describes users from the config', async () => {
    const reply = await client.call(['ACL', 'GETUSER', 'reader']);
    expect(reply).toContain('~cache:*');
    expect(reply).toContain('-@all +acl|whoami +get');
    expect(reply).not.toContain('reader-pw');
  });

  it('rejects SETUSER with the config hint', async () => {
    expect(await client.call(['ACL', 'SETUSER', 'x', 'on'])).toBe(
      "-ERR ACL SETUSER is not available through respguard, because respguard's users and ACL rules are managed in " +
        'its config file. Change the users section of the config and reload respguard\r\n',
    );
  });

  it('still blocks other listed commands', async () => {
    expect(await client.call(['FLUSHALL'])).toBe("-ERR command 'flushall' is blocked by respguard\r\n");
  });

  it('answers DRYRUN for another user', async () => {
    expect(await client.call(['ACL', 'DRYRUN', 'reader', 'get', 'cache:1'])).toBe('+OK\r\n');
    expect(await client.call(['ACL', 'DRYRUN', 'reader', 'get', 'other'])).toBe("$54\r\nThis user has no permissions to access the 'other' key\r\n");
  });

  it('denies ACL subcommands that the rules deny', async () => {
    const reader = await RawClient.connect(proxy.port);
    try {
      expect(await reader.call(['AUTH', 'reader', 'reader-pw'])).toBe('+OK\r\n');
      expect(await reader.call(['ACL', 'WHOAMI'])).toBe('$6\r\nreader\r\n');
      expect(await reader.call(['ACL', 'USERS'])).toBe("-NOPERM this user has no permissions to run the 'acl|users' command\r\n");
    } finally {
      reader.close();
    }
  });
});
