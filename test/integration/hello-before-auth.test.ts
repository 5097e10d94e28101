/**
 * HELLO before authentication, sent to redis-server 7.0.15 with requirepass and to respguard
 * without a `default` user: every reply must be the same bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';

describe('HELLO before authentication', () => {
  let redis: RedisServer;
  let proxy: TestProxy;

  beforeAll(async () => {
    redis = await startRedis({ password: 'upstream-secret' });
    proxy = await startProxy(redis, { users: { app: 'on >app-pw ~* +@all' } });
  });

  afterAll(async () => {
    await proxy?.stop();
    await redis?.stop();
  });

  /** Sends `request` as the first command of a new connection to `port` and returns the reply. */
  async function firstReply(port: number, request: string[]): Promise<string> {
    const client = await RawClient.connect(port);
    try {
      return await client.call(request);
    } finally {
      client.close();
    }
  }

  it('sends the NOAUTH text of redis-server 7.0.15', async () => {
    expect(await firstReply(proxy.port, ['HELLO', '3'])).toBe(
      '-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option ' +
        'can be used to authenticate the client and select the RESP protocol version at the same time\r\n',
    );
  });

  it.each([
    ['HELLO'],
    ['HELLO', '2'],
    ['HELLO', '3'],
    ['HELLO', '3', 'SETNAME', 'x'],
    ['HELLO', '3', 'AUTH'],
    ['HELLO', '3', 'AUTH', 'default'],
    ['HELLO', '3', 'AUTH', 'default', 'wrong'],
    ['HELLO', '3', 'AUTH', 'nosuch', 'x'],
    ['HELLO', '3', 'auth', 'nosuch', 'x', 'SETNAME'],
    ['HELLO', '3', 'FOO'],
    ['HELLO', '4'],
    ['HELLO', 'abc'],
  ].map((request) => [request.join(' '), request] as const))('replies to %s as Redis does', async (_name, request) => {
    const expected = await firstReply(redis.port, request);
    expect(await firstReply(proxy.port, request)).toBe(expected);
  });

  /** Returns `word`, or the user name for USER and the password for PASS. */
  function withCredentials(word: string, credentials: [string, string]): string {
    if (word === 'USER') return credentials[0];
    if (word === 'PASS') return credentials[1];
    return word;
  }

  /**
   * Sends `requests` on a new connection, with USER and PASS replaced by valid credentials of
   * the target, and returns the replies.
   */
  async function replies(port: number, credentials: [string, string], requests: string[][]): Promise<string[]> {
    const client = await RawClient.connect(port);
    try {
      const result: string[] = [];
      for (const request of requests) {
        result.push(await client.call(request.map((word) => withCredentials(word, credentials))));
      }
      return result;
    } finally {
      client.close();
    }
  }

  it.each([
    [['HELLO', '3', 'AUTH', 'USER', 'PASS', 'FOO'], ['PING']],
    [['HELLO', '3', 'AUTH', 'USER', 'PASS', 'SETNAME', 'a b'], ['PING'], ['CLIENT', 'GETNAME']],
    [['HELLO', '3', 'SETNAME', 'a b', 'AUTH', 'USER', 'PASS'], ['PING']],
    [['HELLO', '3', 'SETNAME', 'ok', 'AUTH', 'USER', 'wrong'], ['CLIENT', 'GETNAME']],
    [['HELLO', '3', 'SETNAME', 'ok', 'FOO'], ['AUTH', 'USER', 'PASS'], ['CLIENT', 'GETNAME']],
    [['HELLO', '3', 'SETNAME', 'ok'], ['AUTH', 'USER', 'PASS'], ['CLIENT', 'GETNAME']],
  ])('applies the options of %j in order, as Redis does', async (...requests) => {
    const expected = await replies(redis.port, ['default', 'upstream-secret'], requests);
    expect(await replies(proxy.port, ['app', 'app-pw'], requests)).toEqual(expected);
  });
});
