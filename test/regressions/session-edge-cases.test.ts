/**
 * Session behaviours found by trying respguard as a new user would: large pipelines written
 * before any reply is read, protocol switches inside one pipeline, replication commands, and a
 * prompt stop when clients are idle, and the Lua debugger that must not reach a shared connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient, encodeCommand } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { RedisQuery } from '../helpers/redis-query.js';

let upstream: RedisServer;
let proxy: TestProxy;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, {
    users: { app: 'on >app-pass ~* &* +@all -flushdb' },
    extraYaml: 'blockCommands: []\n',
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

async function login(): Promise<RawClient> {
  const client = await RawClient.connect(proxy.port);
  expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
  return client;
}

describe('large pipelines read after writing', () => {
  for (const [name, command, reply] of [
    ['local replies', ['CLIENT', 'GETNAME'], '$-1\r\n'],
    ['denials', ['FLUSHDB'], "-NOPERM this user has no permissions to run the 'flushdb' command\r\n"],
    ['forwarded replies', ['ECHO', 'x'], '$1\r\nx\r\n'],
  ] as const) {
    it(`answers 20000 ${name}`, async () => {
      const client = await login();
      const one = encodeCommand(command);
      client.send(Buffer.concat(Array.from({ length: 20_000 }, () => one)));
      for (let i = 0; i < 20_000; i++) {
        const got = await client.reply(20_000);
        if (got !== reply) expect(`${i}: ${got}`).toBe(`${i}: ${reply}`);
      }
      client.close();
    });
  }
});

describe('protocol switch in one pipeline', () => {
  it('answers each command in the protocol in force', async () => {
    const client = await login();
    expect(await client.call(['HSET', 'proto:h', 'f', 'v'])).toBe(':1\r\n');
    client.send(Buffer.concat([encodeCommand(['HELLO', '3']), encodeCommand(['HGETALL', 'proto:h']), encodeCommand(['HELLO', '2']), encodeCommand(['HGETALL', 'proto:h'])]));
    expect((await client.reply()).startsWith('%7\r\n')).toBe(true);
    expect(await client.reply()).toBe('%1\r\n$1\r\nf\r\n$1\r\nv\r\n');
    expect((await client.reply()).startsWith('*14\r\n')).toBe(true);
    expect(await client.reply()).toBe('*2\r\n$1\r\nf\r\n$1\r\nv\r\n');
    client.close();
  });
});

describe('replication commands', () => {
  it('never reach the upstream', async () => {
    const client = await login();
    expect(await client.call(['PSYNC', '?', '-1'])).toBe("-ERR 'psync' cannot run through respguard: a replica must connect to Redis directly\r\n");
    expect(await client.call(['SYNC'])).toBe("-ERR 'sync' cannot run through respguard: a replica must connect to Redis directly\r\n");
    expect(await client.call(['REPLCONF', 'listening-port', '1'])).toBe("-ERR 'replconf' cannot run through respguard: a replica must connect to Redis directly\r\n");
    expect(await client.call(['PING'])).toBe('+PONG\r\n');
    client.close();
  });
});

describe('Lua debugger', () => {
  it('rejects SCRIPT DEBUG for every mode', async () => {
    const own = await startProxy(upstream, {
      users: { writer: 'on >w-pass ~* &* +@all -@dangerous', scripter: { acl: 'on >s-pass ~* &* +@all', allowScripts: true } },
      poolSize: 1,
    });
    const writer = await RawClient.connect(own.port);
    expect(await writer.call(['AUTH', 'writer', 'w-pass'])).toBe('+OK\r\n');
    const scripter = await RawClient.connect(own.port);
    expect(await scripter.call(['AUTH', 'scripter', 's-pass'])).toBe('+OK\r\n');

    const rejection = "-ERR 'script|debug' cannot run through respguard: the Lua debugger needs a direct connection to Redis\r\n";
    for (const mode of ['SYNC', 'YES', 'NO']) expect(await writer.call(['SCRIPT', 'DEBUG', mode])).toBe(rejection);
    expect(await scripter.call(['SCRIPT', 'DEBUG', 'YES'])).toBe(rejection);
    expect(await scripter.call(['EVAL', 'return 42', '0'])).toBe(':42\r\n');
    expect(await writer.call(['SET', 'debugger:k', 'v'])).toBe('+OK\r\n');
    expect(await writer.call(['GET', 'debugger:k'])).toBe('$1\r\nv\r\n');
    writer.close();
    scripter.close();
    await own.stop();
  });

  it('rejects SCRIPT DEBUG inside MULTI', async () => {
    const client = await login();
    expect(await client.call(['MULTI'])).toBe('+OK\r\n');
    expect(await client.call(['SCRIPT', 'DEBUG', 'YES'])).toBe("-ERR 'script|debug' inside MULTI is not supported by respguard; run it outside the transaction\r\n");
    expect(await client.call(['EXEC'])).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    client.close();
  });
});

describe('integer arguments as Redis reads them', () => {
  it('rejects leading zeros and signs like Redis', async () => {
    const client = await login();
    const direct = await RedisQuery.connect(upstream.port);
    expect(await direct.call(['AUTH', 'upstream-secret'])).toBe('OK');
    for (const args of [['SELECT', '00'], ['SELECT', '+1'], ['HELLO', '03'], ['HELLO', '-0']]) {
      const expected = (await direct.call(args)) as { error: string };
      expect(await client.call(args)).toBe(`-${expected.error}\r\n`);
    }
    expect(await client.call(['SELECT', '00'])).toBe('-ERR value is not an integer or out of range\r\n');
    expect(await client.call(['HELLO', '03'])).toBe('-ERR Protocol version is not an integer or out of range\r\n');
    expect(await client.call(['PING'])).toBe('+PONG\r\n');
    direct.close();
    client.close();
  });
});

describe('MONITOR in a pipeline', () => {
  it('keeps every reply after a pipelined RESET', async () => {
    const client = await login();
    client.send(Buffer.concat([encodeCommand(['MONITOR']), encodeCommand(['PING']), encodeCommand(['GET', 'monitor:k']), encodeCommand(['RESET'])]));
    expect(await client.reply()).toBe('+OK\r\n');
    expect(await client.reply()).toBe('+PONG\r\n');
    expect(await client.reply()).toMatch(/^\+\d+\.\d+ \[0 127\.0\.0\.1:\d+\] "ping"\r\n$/i);
    expect(await client.reply()).toBe("-ERR Replica can't interact with the keyspace\r\n");
    expect(await client.reply()).toBe('+RESET\r\n');
    // RESET logs the connection out, as in Redis without a nopass default user.
    expect(await client.call(['PING'])).toBe('-NOAUTH Authentication required.\r\n');
    client.close();
  });
});

describe('CLIENT UNBLOCK', () => {
  it('unblocks a session by its respguard id', async () => {
    const blocked = await login();
    const id = await blocked.call(['CLIENT', 'ID']);
    blocked.send(encodeCommand(['BLPOP', 'unblock:none', '0']));
    const other = await login();
    const direct = await RedisQuery.connect(upstream.port);
    expect(await direct.call(['AUTH', 'upstream-secret'])).toBe('OK');
    let clients = '';
    while (!clients.includes('cmd=blpop')) clients = String(await direct.call(['CLIENT', 'LIST']));
    const upstreamId = /id=(\d+) [^\n]*cmd=blpop/.exec(clients)![1]!;

    expect(await other.call(['CLIENT', 'UNBLOCK', upstreamId])).toBe(':0\r\n');
    expect(await blocked.reply(200)).toBe('TIMEOUT');
    expect(await other.call(['CLIENT', 'UNBLOCK', id.slice(1, -2), 'ERROR'])).toBe(':1\r\n');
    expect(await blocked.reply()).toBe('-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n');
    expect(await other.call(['CLIENT', 'UNBLOCK', 'x'])).toBe('-ERR value is not an integer or out of range\r\n');
    direct.close();
    blocked.close();
    other.close();
  });
});

describe('graceful stop', () => {
  it('does not wait for idle clients to leave', async () => {
    const own = await startProxy(upstream, { users: { app: 'on >app-pass ~* +@all' } });
    const idle = await RawClient.connect(own.port);
    expect(await idle.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    const busy = await RawClient.connect(own.port);
    expect(await busy.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    busy.send(['BLPOP', 'stop:q', '0.3']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await own.server.close(10_000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await busy.reply()).toBe('*-1\r\n');
    expect(await idle.waitClosed()).toBe(true);
    expect(await busy.waitClosed()).toBe(true);
  });
});
