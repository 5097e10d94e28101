/**
 * Real client libraries through respguard, with their default protocol (RESP3 for current
 * ioredis and node-redis) and with RESP2 forced: a realistic workload must behave exactly as
 * against Redis, denials included.
 */
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: RedisServer;
let proxy: TestProxy;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, {
    users: {
      app: 'on >app-pass ~app:* +@all -@dangerous',
      reader: 'on >reader-pass ~app:* +@read +ping',
    },
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

/** The common workload, written once against a small adapter over each library. */
interface Workload {
  call(...args: string[]): Promise<unknown>;
  pipeline(commands: string[][]): Promise<unknown[]>;
}

async function runWorkload(client: Workload, prefix: string): Promise<void> {
  expect(await client.call('SET', `${prefix}:s`, 'v1')).toBe('OK');
  expect(await client.call('GET', `${prefix}:s`)).toBe('v1');
  expect(await client.call('INCRBY', `${prefix}:n`, '5')).toBe(5);
  expect(await client.call('EXPIRE', `${prefix}:n`, '100')).toBe(1);
  expect(await client.call('RPUSH', `${prefix}:l`, 'a', 'b', 'c')).toBe(3);
  expect(await client.call('LRANGE', `${prefix}:l`, '0', '-1')).toEqual(['a', 'b', 'c']);
  expect(await client.call('SADD', `${prefix}:set`, 'x', 'y')).toBe(2);
  expect(await client.call('MGET', `${prefix}:s`, `${prefix}:missing`)).toEqual(['v1', null]);
  expect(await client.call('DEL', `${prefix}:s`, `${prefix}:missing`)).toBe(1);
  const results = await client.pipeline(Array.from({ length: 200 }, (_, i) => ['SET', `${prefix}:p${i}`, String(i)]));
  expect(results).toEqual(Array.from({ length: 200 }, () => 'OK'));
  const gets = await client.pipeline(Array.from({ length: 200 }, (_, i) => ['GET', `${prefix}:p${i}`]));
  expect(gets).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
  await expect(client.call('GET', 'other:key')).rejects.toThrow('NOPERM this user has no permissions to access one of the keys used as arguments');
  await expect(client.call('FLUSHALL')).rejects.toThrow("NOPERM this user has no permissions to run the 'flushall' command");
  expect(await client.call('PING')).toBe('PONG');
}

function ioredisAdapter(client: IORedis): Workload {
  return {
    call: (...args) => client.call(args[0]!, ...args.slice(1)),
    async pipeline(commands) {
      const results = await client.pipeline(commands.map(([name, ...rest]) => [name!.toLowerCase(), ...rest])).exec();
      return (results ?? []).map(([error, value]) => {
        if (error) throw error;
        return value;
      });
    },
  };
}

function nodeRedisAdapter(client: { sendCommand(args: string[]): Promise<unknown> }): Workload {
  return {
    call: (...args) => client.sendCommand(args),
    pipeline: (commands) => Promise.all(commands.map((command) => client.sendCommand(command))),
  };
}

describe('ioredis', () => {
  for (const protocol of [undefined, 2] as const) {
    it(`runs the workload with protocol ${protocol ?? 'default'}`, async () => {
      const client = new IORedis({
        host: '127.0.0.1',
        port: proxy.port,
        username: 'app',
        password: 'app-pass',
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        ...(protocol ? { protocol } : {}),
      });
      await client.connect();
      try {
        await runWorkload(ioredisAdapter(client), `app:io${protocol ?? 'd'}`);
        const hash = `app:io${protocol ?? 'd'}:h`;
        expect(await client.hset(hash, { a: '1', b: '2' })).toBe(2);
        expect(await client.hgetall(hash)).toEqual({ a: '1', b: '2' });
      } finally {
        client.disconnect();
      }
    });
  }

  it('surfaces a denied write for a read-only user', async () => {
    const client = new IORedis({ host: '127.0.0.1', port: proxy.port, username: 'reader', password: 'reader-pass', lazyConnect: true });
    await client.connect();
    try {
      await expect(client.set('app:x', '1')).rejects.toThrow("NOPERM this user has no permissions to run the 'set' command");
      expect(await client.get('app:io2:n')).toBe('5');
      expect(await client.get('app:none')).toBe(null);
    } finally {
      client.disconnect();
    }
  });

  it('fails to connect with a wrong password', async () => {
    const client = new IORedis({ host: '127.0.0.1', port: proxy.port, username: 'app', password: 'wrong', lazyConnect: true, retryStrategy: () => null });
    const errors: Error[] = [];
    client.on('error', (error: Error) => errors.push(error));
    await expect(client.connect()).rejects.toThrow();
    expect(errors.map((error) => error.message)).toContain('WRONGPASS invalid username-password pair or user is disabled.');
    client.disconnect();
  });
});

describe('node-redis', () => {
  for (const protocol of [undefined, 2] as const) {
    it(`runs the workload with RESP ${protocol ?? 'default'}`, async () => {
      const client = createClient({
        socket: { host: '127.0.0.1', port: proxy.port, reconnectStrategy: false },
        username: 'app',
        password: 'app-pass',
        ...(protocol ? { RESP: protocol } : {}),
      });
      client.on('error', () => {});
      await client.connect();
      try {
        await runWorkload(nodeRedisAdapter(client), `app:nr${protocol ?? 'd'}`);
        const hash = `app:nr${protocol ?? 'd'}:h`;
        expect(await client.hSet(hash, { a: '1', b: '2' })).toBe(2);
        expect(await client.hGetAll(hash)).toEqual({ a: '1', b: '2' });
      } finally {
        client.destroy();
      }
    });
  }
});
