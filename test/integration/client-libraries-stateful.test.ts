/**
 * Real client libraries using connection state through respguard: transactions, pipelines in
 * transactions, pub/sub in both protocols, blocking pops, stream consumer groups and
 * client-side caching, checked against what Redis itself returns.
 */
import { Redis as IORedis } from 'ioredis';
import { BasicClientSideCache, createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: RedisServer;
let proxy: TestProxy;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, { users: { app: 'on >app-pass ~app:* &app.* +@all -@dangerous' } });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

function ioredis(protocol?: 2 | 3): IORedis {
  return new IORedis({
    host: '127.0.0.1',
    port: proxy.port,
    username: 'app',
    password: 'app-pass',
    maxRetriesPerRequest: 1,
    ...(protocol ? { protocol } : {}),
  });
}

function nodeRedis(protocol: 2 | 3, extra: Record<string, unknown> = {}) {
  const client = createClient({
    socket: { host: '127.0.0.1', port: proxy.port, reconnectStrategy: false },
    username: 'app',
    password: 'app-pass',
    RESP: protocol,
    ...extra,
  });
  client.on('error', () => {});
  return client;
}

/** Resolves with the first message on `channel`, or rejects after timeoutMs. */
function nextMessage(subscribe: (listener: (message: string) => void) => void, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message')), timeoutMs);
    subscribe((message) => {
      clearTimeout(timer);
      resolve(message);
    });
  });
}

describe('ioredis state', () => {
  for (const protocol of [2, 3] as const) {
    it(`runs transactions with RESP${protocol}`, async () => {
      const client = ioredis(protocol);
      try {
        const results = await client.multi().set(`app:io${protocol}:tx`, '1').incr(`app:io${protocol}:tx`).get(`app:io${protocol}:tx`).exec();
        expect(results).toEqual([[null, 'OK'], [null, 2], [null, '2']]);
        const key = `app:io${protocol}:tx`;
        const pipelined = await client.pipeline([['multi'], ['incr', key], ['exec'], ['get', key]]).exec();
        expect(pipelined?.[3]).toEqual([null, '3']);
        await expect(client.multi().set('other:key', '1').exec()).rejects.toThrow('EXECABORT');
      } finally {
        client.disconnect();
      }
    });

    it(`subscribes with RESP${protocol}`, async () => {
      const subscriber = ioredis(protocol);
      const publisher = ioredis(protocol);
      try {
        expect(await subscriber.subscribe(`app.news${protocol}`)).toBe(1);
        const received = nextMessage((listener) => subscriber.on('message', (_channel: string, message: string) => listener(message)));
        expect(await publisher.publish(`app.news${protocol}`, 'hello')).toBe(1);
        expect(await received).toBe('hello');
        await expect(subscriber.subscribe('private')).rejects.toThrow('NOPERM');
      } finally {
        subscriber.disconnect();
        publisher.disconnect();
      }
    });

    it(`blocks in BLPOP and reads a consumer group with RESP${protocol}`, async () => {
      const blocked = ioredis(protocol);
      const other = ioredis(protocol);
      try {
        const pop = blocked.blpop(`app:io${protocol}:queue`, 5);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(await other.get(`app:io${protocol}:tx`)).toBe('3');
        expect(await other.rpush(`app:io${protocol}:queue`, 'job')).toBe(1);
        expect(await pop).toEqual([`app:io${protocol}:queue`, 'job']);

        const stream = `app:io${protocol}:stream`;
        expect(await other.xgroup('CREATE', stream, 'workers', '$', 'MKSTREAM')).toBe('OK');
        const read = blocked.xreadgroup('GROUP', 'workers', 'w1', 'COUNT', 1, 'BLOCK', 5000, 'STREAMS', stream, '>');
        await new Promise((resolve) => setTimeout(resolve, 100));
        const id = await other.xadd(stream, '*', 'field', 'value');
        const entries = (await read) as [string, [string, string[]][]][];
        expect(entries).toEqual([[stream, [[id, ['field', 'value']]]]]);
        expect(await other.xack(stream, 'workers', id!)).toBe(1);
      } finally {
        blocked.disconnect();
        other.disconnect();
      }
    });
  }
});

describe('node-redis state', () => {
  for (const protocol of [2, 3] as const) {
    it(`runs transactions, pub/sub and BLPOP with RESP${protocol}`, async () => {
      const client = nodeRedis(protocol);
      await client.connect();
      const subscriber = client.duplicate();
      subscriber.on('error', () => {});
      await subscriber.connect();
      try {
        const key = `app:nr${protocol}:tx`;
        expect(await client.multi().set(key, '5').incrBy(key, 2).get(key).exec()).toEqual(['OK', 7, '7']);

        const received = nextMessage((listener) => void subscriber.subscribe(`app.nr${protocol}`, listener));
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(await client.publish(`app.nr${protocol}`, 'payload')).toBe(1);
        expect(await received).toBe('payload');

        const blocked = client.duplicate();
        blocked.on('error', () => {});
        await blocked.connect();
        const pop = blocked.blPop(`app:nr${protocol}:queue`, 5);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(await client.rPush(`app:nr${protocol}:queue`, 'job')).toBe(1);
        expect(await pop).toEqual({ key: `app:nr${protocol}:queue`, element: 'job' });
        blocked.destroy();
      } finally {
        subscriber.destroy();
        client.destroy();
      }
    });
  }

  it('keeps a client-side cache coherent', async () => {
    const cache = new BasicClientSideCache({ ttl: 0, maxEntries: 0 });
    const cached = nodeRedis(3, { clientSideCache: cache });
    const writer = nodeRedis(3);
    await cached.connect();
    await writer.connect();
    try {
      expect(await writer.set('app:csc', 'one')).toBe('OK');
      expect(await cached.get('app:csc')).toBe('one');
      expect(await cached.get('app:csc')).toBe('one');
      expect(cache.stats().hitCount).toBe(1);
      expect(await writer.set('app:csc', 'two')).toBe('OK');
      let value: string | null = 'one';
      const deadline = Date.now() + 5000;
      while (value === 'one' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        value = await cached.get('app:csc');
      }
      expect(value).toBe('two');
    } finally {
      cached.destroy();
      writer.destroy();
    }
  });
});
