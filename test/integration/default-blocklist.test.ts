/**
 * The default blocklist through a running respguard: a config without `blockCommands` blocks the
 * listed commands even for a user whose rules name them, and the blocked command never reaches
 * the upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';

const FUNCTION_DELETE_DENIAL =
  "-NOPERM this user has no permissions to run the 'function|delete' command, because scripts and functions run with " +
  "respguard's upstream rights, beyond this user's ACL rules and respguard's blockCommands. " +
  'Set allowScripts: true for the user in the respguard config to allow them\r\n';

describe('default blocklist through the proxy', () => {
  let redis: RedisServer;
  let proxy: TestProxy;
  let upstream: RawClient;

  beforeAll(async () => {
    redis = await startRedis({ password: 'upstream-secret' });
    proxy = await startProxy(redis, {
      users: {
        granted: {
          acl: 'on >granted-pw ~* &* +@all +swapdb +client|unblock +slowlog|reset +function|delete +cluster|setslot',
          allowScripts: true,
        },
        functions: 'on >functions-pw ~* +@scripting',
      },
    });
    upstream = await RawClient.connect(redis.port);
    expect(await upstream.call(['AUTH', 'upstream-secret'])).toBe('+OK\r\n');
  });

  afterAll(async () => {
    upstream?.close();
    await proxy?.stop();
    await redis?.stop();
  });

  async function login(user: string, password: string): Promise<RawClient> {
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['AUTH', user, password])).toBe('+OK\r\n');
    return client;
  }

  it('blocks SWAPDB despite +swapdb', async () => {
    expect(await upstream.call(['SET', 'swap:k', 'db0'])).toBe('+OK\r\n');
    const client = await login('granted', 'granted-pw');
    try {
      expect(await client.call(['SWAPDB', '0', '1'])).toBe("-ERR command 'swapdb' is blocked by respguard\r\n");
      expect(await upstream.call(['GET', 'swap:k'])).toBe('$3\r\ndb0\r\n');
    } finally {
      client.close();
    }
  });

  it.each([
    [['CLIENT', 'UNBLOCK', '1'], 'client|unblock'],
    [['SLOWLOG', 'RESET'], 'slowlog|reset'],
    [['CLUSTER', 'SETSLOT', '1', 'STABLE'], 'cluster|setslot'],
    [['cluster', 'addslots', '1'], 'cluster|addslots'],
  ])('blocks %j despite the rules', async (request, name) => {
    const client = await login('granted', 'granted-pw');
    try {
      expect(await client.call(request)).toBe(`-ERR command '${name}' is blocked by respguard\r\n`);
    } finally {
      client.close();
    }
  });

  it('blocks FUNCTION DELETE for a user with allowScripts', async () => {
    const code = "#!lua name=blocklib\nredis.register_function('blockfn', function() return 1 end)";
    expect(await upstream.call(['FUNCTION', 'LOAD', code])).toBe('$8\r\nblocklib\r\n');
    const client = await login('granted', 'granted-pw');
    try {
      expect(await client.call(['FUNCTION', 'DELETE', 'blocklib'])).toBe("-ERR command 'function|delete' is blocked by respguard\r\n");
      expect(await upstream.call(['FCALL', 'blockfn', '0'])).toBe(':1\r\n');
    } finally {
      client.close();
    }
  });

  it('denies FUNCTION DELETE without allowScripts', async () => {
    const client = await login('functions', 'functions-pw');
    try {
      expect(await client.call(['FUNCTION', 'DELETE', 'blocklib'])).toBe(FUNCTION_DELETE_DENIAL);
      expect(await client.call(['FUNCTION', 'FLUSH'])).toBe(FUNCTION_DELETE_DENIAL.replace('function|delete', 'function|flush'));
    } finally {
      client.close();
    }
  });
});
