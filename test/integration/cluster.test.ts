/**
 * respguard in front of a real Redis Cluster of three primaries with one replica each: clients
 * that know nothing of the cluster see one Redis. Covers routing by hash slot, CROSSSLOT, split
 * multi-key commands, fan-out of keyless commands (DBSIZE, KEYS, SCAN, RANDOMKEY, SCRIPT),
 * MOVED, ASK and TRYAGAIN during a hand-made slot migration, transactions and other pinned
 * connection state next to keys of other nodes, and the per-node metrics.
 */
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsObserver } from '../../src/observability/metrics-observer.js';
import type { RunningServer } from '../../src/server.js';
import { keySlot } from '../../src/upstream/cluster/slots.js';
import { metricLines, metricValue as metricValueOf, startClusterProxy } from '../helpers/cluster-proxy.js';
import type { LogCapture } from '../helpers/proxy.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { RedisQuery, type Reply } from '../helpers/redis-query.js';
import { freePort } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';

let cluster: RedisCluster;
let server: RunningServer;
let observer: MetricsObserver;
let logs: LogCapture;
let port: number;
const queries: RedisQuery[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ replicas: 1 });
  // Every node is a seed, replicas included. FLUSHALL and FLUSHDB are in the default blocklist,
  // and the fan-out tests need them.
  const rest = `blockCommands: []\nusers:\n  app:\n    acl: "on >app-pass ~* &* +@all"\n  reader:\n    acl: "on >r-pass ~cache:* +@read +cluster|getkeysinslot"\n`;
  ({ server, observer, logs, port } = await startClusterProxy(cluster, cluster.addresses, rest));
}, 60_000);

afterAll(async () => {
  for (const query of queries) query.close();
  await server?.close(2000);
  await cluster?.stop();
});

/** Opens an authenticated client of respguard. */
async function client(user = 'app', password = 'app-pass'): Promise<RawClient> {
  const connection = await RawClient.connect(port);
  expect(await connection.call(['AUTH', user, password])).toBe('+OK\r\n');
  return connection;
}

/** Opens an authenticated direct connection to cluster node `index`. */
async function node(index: number): Promise<RedisQuery> {
  const query = await RedisQuery.connect(cluster.nodes[index]!.port);
  queries.push(query);
  expect(await query.call(['AUTH', cluster.password])).toBe('OK');
  return query;
}

/** Returns the index of the node that serves `slot`, from CLUSTER SLOTS of node 0. */
async function ownerOf(slot: number): Promise<number> {
  const ranges = (await (await node(0)).call(['CLUSTER', 'SLOTS'])) as Reply[][];
  const range = ranges.find((entry) => (entry[0] as number) <= slot && slot <= (entry[1] as number))!;
  const owner = range[2] as Reply[];
  return cluster.nodes.findIndex((server) => server.port === owner[1]);
}

async function metricValue(name: string, labels = ''): Promise<number> {
  return metricValueOf(observer, name, labels);
}

const SIX_KEYS = ['cache:a', 'cache:b', 'cache:c', 'cache:d', 'cache:e', 'cache:f'];

describe('cluster node pools', () => {
  it('keeps pools for primaries only', async () => {
    // Every node, replicas included, is a seed; the pools of the replicas close once the map is read.
    const primaries = cluster.addresses.slice(0, 3);
    const expected = primaries.map((address) => `respguard_upstream_node_connections{node="${address}"} 4`).sort();
    const deadline = Date.now() + 5000;
    let lines = await metricLines(observer, 'respguard_upstream_node_connections');
    while (lines.length !== 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      lines = await metricLines(observer, 'respguard_upstream_node_connections');
    }
    expect(lines.sort()).toEqual(expected);
    expect(await metricValue('respguard_upstream_failovers_total', '{mode="cluster"}')).toBe(0);
    expect(await metricValue('respguard_upstream_topology_refreshes_total', '{result="ok"}')).toBeGreaterThan(0);
    expect(logs.lines.some((line) => line.msg === 'cluster slot map loaded')).toBe(true);
  });
});

describe('cluster seed nodes', () => {
  it('starts when the first seed is down', async () => {
    // Nothing listens on this port: the other seeds must give the map, readiness and the command table.
    const down = `127.0.0.1:${await freePort()}`;
    const users = `users:\n  app:\n    acl: "on >app-pass ~* +@all"\n`;
    const proxy = await startClusterProxy(cluster, [down, ...cluster.addresses.slice(0, 3)], users);
    try {
      expect(proxy.server.isReady()).toBe(true);
      const deadline = Date.now() + 5000;
      const refreshed = (): boolean => proxy.logs.lines.some((line) => line.msg === 'command table refreshed from the upstream');
      while (!refreshed() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(refreshed()).toBe(true);
      const app = await RawClient.connect(proxy.port);
      expect(await app.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
      expect(await app.call(['ECHO', 'seed'])).toBe('$4\r\nseed\r\n');
      expect(await app.call(['SET', 'cache:seed', '1'])).toBe('+OK\r\n');
      app.close();
      // The down seed serves no slots, so its pool stops reconnecting and leaves the metrics.
      const nodes = await metricLines(proxy.observer, 'respguard_upstream_node_connections');
      expect(nodes.some((line) => line.includes(down))).toBe(false);
      expect(nodes.length).toBe(3);
    } finally {
      await proxy.server.close(1000);
    }
  });
});

describe('cluster mode', () => {
  it('spreads the test keys over three primaries', async () => {
    const owners = new Set(await Promise.all(SIX_KEYS.map((key) => ownerOf(keySlot(Buffer.from(key))))));
    expect(owners.size).toBe(3);
  });

  it('stores each key on its slot owner', async () => {
    const app = await client();
    for (const key of SIX_KEYS) expect(await app.call(['SET', key, `v-${key}`])).toBe('+OK\r\n');
    for (const key of SIX_KEYS) {
      const owner = await node(await ownerOf(keySlot(Buffer.from(key))));
      expect(await owner.call(['GET', key])).toBe(`v-${key}`);
    }
    expect(await app.call(['GET', 'cache:c'])).toBe('$9\r\nv-cache:c\r\n');
    app.close();
  });

  it('merges MGET across slots in key order', async () => {
    const app = await client();
    for (const key of SIX_KEYS) await app.call(['SET', key, key.slice(-1)]);
    const reply = await app.call(['MGET', 'cache:f', 'cache:a', 'missing', 'cache:c', 'cache:a']);
    expect(reply).toBe('*5\r\n$1\r\nf\r\n$1\r\na\r\n$-1\r\n$1\r\nc\r\n$1\r\na\r\n');
    app.close();
  });

  it('merges MGET for a RESP3 client', async () => {
    const app = await client();
    expect((await app.call(['HELLO', '3'])).startsWith('%')).toBe(true);
    await app.call(['SET', 'cache:a', 'a']);
    await app.call(['SET', 'cache:b', 'b']);
    expect(await app.call(['MGET', 'cache:a', 'missing', 'cache:b'])).toBe('*3\r\n$1\r\na\r\n_\r\n$1\r\nb\r\n');
    app.close();
  });

  it('splits MSET, EXISTS, TOUCH, UNLINK and DEL', async () => {
    const app = await client();
    expect(await app.call(['MSET', 'cache:a', '1', 'cache:b', '2', 'cache:c', '3', 'cache:d', '4'])).toBe('+OK\r\n');
    expect(await app.call(['MGET', 'cache:a', 'cache:b', 'cache:c', 'cache:d'])).toBe('*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n');
    expect(await app.call(['EXISTS', 'cache:a', 'cache:b', 'cache:a', 'missing'])).toBe(':3\r\n');
    expect(await app.call(['TOUCH', 'cache:a', 'cache:c', 'missing'])).toBe(':2\r\n');
    expect(await app.call(['UNLINK', 'cache:a', 'cache:b'])).toBe(':2\r\n');
    expect(await app.call(['DEL', 'cache:c', 'cache:d', 'cache:a'])).toBe(':2\r\n');
    expect(await app.call(['EXISTS', 'cache:a', 'cache:b', 'cache:c', 'cache:d'])).toBe(':0\r\n');
    app.close();
  });

  it('rejects other commands across slots with CROSSSLOT', async () => {
    const app = await client();
    const direct = await (await node(0)).call(['SUNIONSTORE', 'x', 'y', 'z']);
    expect(direct).toEqual({ error: "CROSSSLOT Keys in request don't hash to the same slot" });
    expect(await app.call(['SUNIONSTORE', 'cache:x', 'cache:y', 'cache:z'])).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    expect(await app.call(['RENAME', 'cache:a', 'cache:b'])).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    app.close();
  });

  it('rejects MSET with a missing value across slots', async () => {
    const app = await client();
    await app.call(['DEL', 'cache:b']);
    expect(await app.call(['MSET', 'cache:a', '1', 'cache:b'])).toBe("-ERR wrong number of arguments for 'mset' command\r\n");
    expect(await app.call(['MSET', 'cache:a', '1', 'cache:b', '2', 'cache:c'])).toBe("-ERR wrong number of arguments for 'mset' command\r\n");
    expect(await app.call(['EXISTS', 'cache:b'])).toBe(':0\r\n');
    app.close();
    const other = await client();
    expect(await other.call(['PING'])).toBe('+PONG\r\n');
    other.close();
  });

  it('forwards hash-tagged keys as one request', async () => {
    const app = await client();
    expect(await app.call(['MSET', '{t}1', 'x', '{t}2', 'y'])).toBe('+OK\r\n');
    expect(await app.call(['SUNIONSTORE', '{t}s', '{t}a', '{t}b'])).toBe(':0\r\n');
    expect(await app.call(['MGET', '{t}1', '{t}2'])).toBe('*2\r\n$1\r\nx\r\n$1\r\ny\r\n');
    app.close();
  });

  it('answers keyless commands', async () => {
    const app = await client();
    expect(await app.call(['PING'])).toBe('+PONG\r\n');
    expect(await app.call(['ECHO', 'hi'])).toBe('$2\r\nhi\r\n');
    app.close();
  });

  it('describes itself as standalone in HELLO', async () => {
    const app = await client();
    const reply = await app.call(['HELLO', '3']);
    expect(reply.includes('$4\r\nmode\r\n$10\r\nstandalone\r\n')).toBe(true);
    expect(reply.includes('cluster')).toBe(false);
    expect(reply.includes('$4\r\nrole\r\n$6\r\nmaster\r\n')).toBe(true);
    app.close();
  });

  it('sums DBSIZE over every primary', async () => {
    const app = await client();
    expect(await app.call(['FLUSHALL'])).toBe('+OK\r\n');
    for (let i = 0; i < 3; i++) expect(await (await node(i)).call(['DBSIZE'])).toBe(0);
    for (const key of SIX_KEYS) await app.call(['SET', key, '1']);
    expect(await app.call(['DBSIZE'])).toBe(':6\r\n');
    app.close();
  });

  it('joins KEYS from every primary', async () => {
    const app = await client();
    expect(await app.call(['FLUSHDB'])).toBe('+OK\r\n');
    for (const key of [...SIX_KEYS, 'other:1', 'other:2']) await app.call(['SET', key, '1']);
    const all = (await app.call(['KEYS', '*'])).split('\r\n');
    expect(all[0]).toBe('*8');
    expect(all.filter((_, i) => i % 2 === 0 && i > 0).sort()).toEqual([...SIX_KEYS, 'other:1', 'other:2'].sort());
    const reader = await client('reader', 'r-pass');
    const visible = (await reader.call(['KEYS', '*'])).split('\r\n');
    expect(visible[0]).toBe('*6');
    expect(visible.filter((_, i) => i % 2 === 0 && i > 0).sort()).toEqual([...SIX_KEYS].sort());
    reader.close();
    app.close();
  });

  it('keeps a pipeline in order across nodes', async () => {
    const app = await client();
    const requests: string[][] = [];
    const expected: string[] = [];
    for (let round = 0; round < 50; round++) {
      for (const key of SIX_KEYS) {
        requests.push(['SET', key, `${round}`]);
        expected.push('+OK\r\n');
        requests.push(['GET', key]);
        expected.push(`$${String(round).length}\r\n${round}\r\n`);
      }
      requests.push(['MGET', ...SIX_KEYS]);
      expected.push(`*6\r\n${`$${String(round).length}\r\n${round}\r\n`.repeat(6)}`);
    }
    for (const request of requests) app.send(request);
    const replies: string[] = [];
    for (let i = 0; i < requests.length; i++) replies.push(await app.reply());
    expect(replies).toEqual(expected);
    app.close();
  });

  it('applies the user ACL before routing', async () => {
    const reader = await client('reader', 'r-pass');
    expect(await reader.call(['SET', 'cache:c', '1'])).toBe("-NOPERM this user has no permissions to run the 'set' command\r\n");
    reader.close();
  });
});

/** Runs SCAN through respguard until the cursor is 0 again; returns every key and the number of calls. */
async function scanAll(connection: RawClient, options: string[] = []): Promise<{ keys: string[]; calls: number }> {
  const keys: string[] = [];
  let cursor = '0';
  let calls = 0;
  do {
    const reply = (await connection.call(['SCAN', cursor, ...options])).split('\r\n');
    calls += 1;
    expect(reply[0]).toBe('*2');
    cursor = reply[2]!;
    const count = Number(reply[3]!.slice(1));
    for (let i = 0; i < count; i++) keys.push(reply[5 + i * 2]!);
  } while (cursor !== '0');
  return { keys, calls };
}

describe('cluster keyspace commands', () => {
  const scanKeys = Array.from({ length: 300 }, (_, i) => `scan:${i}`);
  const cacheKeys = Array.from({ length: 40 }, (_, i) => `cache:scan${i}`);

  it('scans every key exactly once', async () => {
    const app = await client();
    expect(await app.call(['FLUSHALL'])).toBe('+OK\r\n');
    for (const key of [...scanKeys, ...cacheKeys]) app.send(['SET', key, '1']);
    for (let i = 0; i < scanKeys.length + cacheKeys.length; i++) expect(await app.reply()).toBe('+OK\r\n');
    const owners = new Set(await Promise.all(scanKeys.slice(0, 20).map((key) => ownerOf(keySlot(Buffer.from(key))))));
    expect(owners.size).toBe(3);

    const { keys, calls } = await scanAll(app, ['COUNT', '25']);
    expect(keys.length).toBe(scanKeys.length + cacheKeys.length);
    expect(keys.sort()).toEqual([...scanKeys, ...cacheKeys].sort());
    // About 340 keys at 25 per call: more than one call per primary.
    expect(calls).toBeGreaterThan(3);
    app.close();
  });

  it('passes MATCH and TYPE to each primary', async () => {
    const app = await client();
    expect(await app.call(['HSET', 'scan:hash', 'f', 'v'])).toBe(':1\r\n');
    const matched = await scanAll(app, ['MATCH', 'scan:1?', 'COUNT', '1000']);
    expect(matched.keys.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `scan:1${i}`).sort());
    const hashes = await scanAll(app, ['TYPE', 'hash']);
    expect(hashes.keys).toEqual(['scan:hash']);
    expect(await app.call(['DEL', 'scan:hash'])).toBe(':1\r\n');
    app.close();
  });

  it('scans only readable keys', async () => {
    const reader = await client('reader', 'r-pass');
    const { keys } = await scanAll(reader, ['COUNT', '50']);
    expect(keys.sort()).toEqual([...cacheKeys].sort());
    reader.close();
  });

  it('rejects an invalid scan cursor', async () => {
    const app = await client();
    expect(await (await node(0)).call(['SCAN', 'abc'])).toEqual({ error: 'ERR invalid cursor' });
    expect(await app.call(['SCAN', 'abc'])).toBe('-ERR invalid cursor\r\n');
    expect(await app.call(['SCAN', '-1'])).toBe('-ERR invalid cursor\r\n');
    // Node index 5 of three primaries.
    expect(await app.call(['SCAN', '5'])).toBe('-ERR invalid cursor\r\n');
    app.close();
  });

  it('draws RANDOMKEY from any primary', async () => {
    const app = await client();
    const reader = await client('reader', 'r-pass');
    expect(await app.call(['FLUSHALL'])).toBe('+OK\r\n');
    expect(await app.call(['RANDOMKEY'])).toBe('$-1\r\n');
    // One key, on a primary other than the first: the others have no key.
    expect(await ownerOf(keySlot(Buffer.from('cache:c')))).not.toBe(0);
    expect(await app.call(['SET', 'cache:c', '1'])).toBe('+OK\r\n');
    for (let i = 0; i < 10; i++) expect(await app.call(['RANDOMKEY'])).toBe('$7\r\ncache:c\r\n');
    expect(await reader.call(['RANDOMKEY'])).toBe('$7\r\ncache:c\r\n');
    expect(await app.call(['DEL', 'cache:c'])).toBe(':1\r\n');
    expect(await app.call(['SET', 'other:x', '1'])).toBe('+OK\r\n');
    expect(await app.call(['RANDOMKEY'])).toBe('$7\r\nother:x\r\n');
    // other:x is outside the reader's key patterns, so it gets the null reply.
    expect(await reader.call(['RANDOMKEY'])).toBe('$-1\r\n');
    expect(await app.call(['HELLO', '3'])).toMatch(/^%/);
    expect(await app.call(['DEL', 'other:x'])).toBe(':1\r\n');
    expect(await app.call(['RANDOMKEY'])).toBe('_\r\n');
    reader.close();
    app.close();
  });

  it('counts keys in the slot owner', async () => {
    const app = await client();
    for (const key of ['app:1', 'cache:a']) {
      const slot = String(slotOf(key));
      const owner = await node(await ownerOf(slotOf(key)));
      expect(await app.call(['SET', key, 'counted'])).toBe('+OK\r\n');
      expect(await owner.call(['CLUSTER', 'COUNTKEYSINSLOT', slot])).toBe(1);
      expect(await app.call(['CLUSTER', 'COUNTKEYSINSLOT', slot])).toBe(':1\r\n');
      expect(await app.call(['CLUSTER', 'GETKEYSINSLOT', slot, '10'])).toBe(`*1\r\n$${key.length}\r\n${key}\r\n`);
    }
    expect(await (await node(0)).call(['CLUSTER', 'COUNTKEYSINSLOT', '16384'])).toEqual({ error: 'ERR Invalid slot' });
    expect(await app.call(['CLUSTER', 'COUNTKEYSINSLOT', '16384'])).toBe('-ERR Invalid slot\r\n');
    app.close();
  });

  it('lists only readable keys in a slot', async () => {
    // Both keys hash the tag `g`, so they share a slot, on a node other than the keyless pool's.
    const slot = String(slotOf('{g}'));
    expect(await ownerOf(slotOf('{g}'))).not.toBe(0);
    const app = await client();
    const reader = await client('reader', 'r-pass');
    expect(await app.call(['MSET', 'cache:{g}1', '1', 'other:{g}2', '2'])).toBe('+OK\r\n');
    const all = (await app.call(['CLUSTER', 'GETKEYSINSLOT', slot, '10'])).split('\r\n');
    expect(all[0]).toBe('*2');
    expect([all[2], all[4]].sort()).toEqual(['cache:{g}1', 'other:{g}2']);
    expect(await reader.call(['CLUSTER', 'GETKEYSINSLOT', slot, '10'])).toBe('*1\r\n$10\r\ncache:{g}1\r\n');
    expect(await app.call(['DEL', 'cache:{g}1', 'other:{g}2'])).toBe(':2\r\n');
    reader.close();
    app.close();
  });

  it('rejects keyspace commands in MULTI', async () => {
    const app = await client();
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['SET', 'app:2', 'z'])).toBe('+QUEUED\r\n');
    for (const command of [['DBSIZE'], ['KEYS', '*'], ['SCAN', '0'], ['RANDOMKEY'], ['FLUSHDB']]) {
      const name = command[0]!.toLowerCase();
      expect(await app.call(command)).toBe(`-ERR '${name}' inside MULTI is not supported by respguard in cluster mode, because it runs on every primary; run it outside the transaction\r\n`);
    }
    expect(await app.call(['EXEC'])).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    expect(await app.call(['GET', 'app:2'])).not.toBe('$1\r\nz\r\n');
    app.close();
  });

  it('loads scripts on every primary', async () => {
    const app = await client();
    const sha = (await app.call(['SCRIPT', 'LOAD', "return redis.call('GET', KEYS[1])"])).split('\r\n')[1]!;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    for (let i = 0; i < 3; i++) expect(await (await node(i)).call(['SCRIPT', 'EXISTS', sha])).toEqual([1]);
    for (const key of ['cache:a', 'cache:b', 'cache:c']) {
      expect(await app.call(['SET', key, `v-${key}`])).toBe('+OK\r\n');
      expect(await app.call(['EVALSHA', sha, '1', key])).toBe(`$9\r\nv-${key}\r\n`);
    }
    expect(await app.call(['SCRIPT', 'EXISTS', sha, '0000000000000000000000000000000000000000'])).toBe('*2\r\n:1\r\n:0\r\n');
    expect(await (await node(1)).call(['SCRIPT', 'FLUSH'])).toBe('OK');
    // One primary lost the script, so it does not exist for the whole cluster.
    expect(await app.call(['SCRIPT', 'EXISTS', sha])).toBe('*1\r\n:0\r\n');
    expect(await app.call(['SCRIPT', 'FLUSH'])).toBe('+OK\r\n');
    for (let i = 0; i < 3; i++) expect(await (await node(i)).call(['SCRIPT', 'EXISTS', sha])).toEqual([0]);
    app.close();
  });
});

describe('cluster client libraries', () => {
  it('serves ioredis in standalone mode', async () => {
    const redis = new IORedis({ host: '127.0.0.1', port, username: 'app', password: 'app-pass', lazyConnect: true });
    await redis.connect();
    try {
      expect(await redis.mset('lib:a', '1', 'lib:b', '2', 'lib:c', '3')).toBe('OK');
      expect(await redis.mget('lib:c', 'lib:a', 'lib:none', 'lib:b')).toEqual(['3', '1', null, '2']);
      expect(await redis.del('lib:a', 'lib:b')).toBe(2);
      const results = await redis.multi().set('{lib}x', 'y').get('{lib}x').exec();
      expect(results).toEqual([[null, 'OK'], [null, 'y']]);
    } finally {
      redis.disconnect();
    }
  });

  it('serves node-redis with RESP3', async () => {
    const redis = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false }, username: 'app', password: 'app-pass', RESP: 3 });
    redis.on('error', () => {});
    await redis.connect();
    try {
      expect(await redis.mSet({ 'lib:d': '4', 'lib:e': '5', 'lib:f': '6' })).toBe('OK');
      expect(await redis.mGet(['lib:f', 'lib:d', 'lib:none', 'lib:e'])).toEqual(['6', '4', null, '5']);
      expect(await redis.exists(['lib:d', 'lib:e', 'lib:none'])).toBe(2);
    } finally {
      redis.destroy();
    }
  });

  it('scans with ioredis scanStream', async () => {
    const redis = new IORedis({ host: '127.0.0.1', port, username: 'app', password: 'app-pass', lazyConnect: true });
    await redis.connect();
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `lib:scan:${i}`);
      await redis.mset(...keys.flatMap((key) => [key, '1']));
      const found: string[] = [];
      for await (const page of redis.scanStream({ match: 'lib:scan:*', count: 10 })) found.push(...(page as string[]));
      expect(found.sort()).toEqual([...keys].sort());
    } finally {
      redis.disconnect();
    }
  });

  it('scans with node-redis scanIterator', async () => {
    const redis = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false }, username: 'app', password: 'app-pass' });
    redis.on('error', () => {});
    await redis.connect();
    try {
      const found: string[] = [];
      for await (const page of redis.scanIterator({ MATCH: 'lib:scan:*', COUNT: 10 })) found.push(...page);
      expect(found.sort()).toEqual(Array.from({ length: 60 }, (_, i) => `lib:scan:${i}`).sort());
    } finally {
      redis.destroy();
    }
  });
});

describe('cluster transactions', () => {
  it('runs MULTI on the node of its first key', async () => {
    expect(await ownerOf(keySlot(Buffer.from('u')))).not.toBe(0);
    const app = await client();
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['SET', '{u}1', 'a'])).toBe('+QUEUED\r\n');
    expect(await app.call(['GET', '{u}1'])).toBe('+QUEUED\r\n');
    expect(await app.call(['EXEC'])).toBe('*2\r\n+OK\r\n$1\r\na\r\n');
    expect(await app.call(['GET', '{u}1'])).toBe('$1\r\na\r\n');
    app.close();
  });

  it('aborts MULTI with keys of two slots', async () => {
    const app = await client();
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['SET', '{u}2', 'a'])).toBe('+QUEUED\r\n');
    expect(await app.call(['SET', '{v}2', 'b'])).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    expect(await app.call(['EXEC'])).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    expect(await app.call(['EXISTS', '{u}2'])).toBe(':0\r\n');
    app.close();
  });

  it('pins MULTI at its first key', async () => {
    // app:2's node is not the keyless pool's (node 0), so a keyless first command must not pin the transaction.
    expect(await ownerOf(slotOf('app:2'))).toBe(1);
    const app = await client();
    expect(await app.call(['SET', 'app:2', 'stays'])).toBe('+OK\r\n');
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['PING'])).toBe('+QUEUED\r\n');
    expect(await app.call(['ECHO', 'e'])).toBe('+QUEUED\r\n');
    expect(await app.call(['SET', 'app:2', 'y'])).toBe('+QUEUED\r\n');
    expect(await app.call(['PING'])).toBe('+QUEUED\r\n');
    expect(await app.call(['GET', 'app:2'])).toBe('+QUEUED\r\n');
    expect(await app.call(['SET', 'secret:x', 'other'])).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    expect(await app.call(['EXEC'])).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    expect(await app.call(['GET', 'app:2'])).toBe('$5\r\nstays\r\n');

    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['PING'])).toBe('+QUEUED\r\n');
    expect(await app.call(['SET', 'app:2', 'y'])).toBe('+QUEUED\r\n');
    expect(await app.call(['EXEC'])).toBe('*2\r\n+PONG\r\n+OK\r\n');
    expect(await app.call(['GET', 'app:2'])).toBe('$1\r\ny\r\n');
    app.close();
  });

  it('rejects nested MULTI and WATCH', async () => {
    const direct = await node(1);
    expect(await direct.call(['MULTI'])).toBe('OK');
    const nested = await direct.call(['MULTI']);
    const watch = await direct.call(['WATCH', 'app:2']);
    expect(await direct.call(['DISCARD'])).toBe('OK');
    expect(nested).toEqual({ error: 'ERR MULTI calls can not be nested' });
    expect(watch).toEqual({ error: 'ERR WATCH inside MULTI is not allowed' });

    const app = await client();
    expect(await app.call(['SET', 'app:2', 'before'])).toBe('+OK\r\n');
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['PING'])).toBe('+QUEUED\r\n');
    expect(await app.call(['MULTI'])).toBe('-ERR MULTI calls can not be nested\r\n');
    expect(await app.call(['WATCH', 'app:2'])).toBe('-ERR WATCH inside MULTI is not allowed\r\n');
    expect(await app.call(['SET', 'app:2', 'queued'])).toBe('+QUEUED\r\n');
    expect(await app.call(['GET', 'app:2'])).toBe('+QUEUED\r\n');
    // As in Redis, neither error aborts the transaction.
    expect(await app.call(['EXEC'])).toBe('*3\r\n+PONG\r\n+OK\r\n$6\r\nqueued\r\n');
    app.close();
  });

  it('runs a keyless MULTI', async () => {
    const app = await client();
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['PING'])).toBe('+QUEUED\r\n');
    expect(await app.call(['ECHO', 'e'])).toBe('+QUEUED\r\n');
    expect(await app.call(['EXEC'])).toBe('*2\r\n+PONG\r\n$1\r\ne\r\n');
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['PING'])).toBe('+QUEUED\r\n');
    expect(await app.call(['DISCARD'])).toBe('+OK\r\n');
    expect(await app.call(['GET', 'app:2'])).toMatch(/^\$/);
    app.close();
  });

  it('answers empty and discarded MULTI', async () => {
    const app = await client();
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['EXEC'])).toBe('*0\r\n');
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['DISCARD'])).toBe('+OK\r\n');
    expect(await app.call(['EXEC'])).toBe('-ERR EXEC without MULTI\r\n');
    app.close();
  });

  it('fails EXEC after a WATCHed key changed', async () => {
    const app = await client();
    const other = await client();
    expect(await app.call(['WATCH', '{u}w'])).toBe('+OK\r\n');
    expect(await other.call(['SET', '{u}w', 'changed'])).toBe('+OK\r\n');
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['SET', '{u}w', 'mine'])).toBe('+QUEUED\r\n');
    expect(await app.call(['EXEC'])).toBe('*-1\r\n');
    expect(await app.call(['GET', '{u}w'])).toBe('$7\r\nchanged\r\n');
    expect(await app.call(['WATCH', '{u}w', '{v}w'])).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    app.close();
    other.close();
  });

  it('blocks BLPOP on the node of its key', async () => {
    expect(await ownerOf(keySlot(Buffer.from('{u}list')))).not.toBe(0);
    const app = await client();
    const other = await client();
    app.send(['BLPOP', '{u}list', '5']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await other.call(['RPUSH', '{u}list', 'item'])).toBe(':1\r\n');
    expect(await app.reply()).toBe('*2\r\n$7\r\n{u}list\r\n$4\r\nitem\r\n');
    app.close();
    other.close();
  });
});

describe('cluster WAIT', () => {
  /** Returns how many WAIT commands node `index` ran, from INFO commandstats. */
  async function waitCalls(index: number): Promise<number> {
    const info = String(await (await node(index)).call(['INFO', 'commandstats']));
    const match = /cmdstat_wait:calls=([0-9]+)/.exec(info);
    return match ? Number(match[1]) : 0;
  }

  it('sends WAIT to the last write node', async () => {
    const writeNode = await ownerOf(keySlot(Buffer.from('{u}wait')));
    expect(writeNode).not.toBe(0);
    expect(server.context.cluster!.keylessPool().address).toBe(cluster.addresses[0]);
    let readKey = '';
    for (let i = 0; readKey === ''; i++) if ((await ownerOf(keySlot(Buffer.from(`read${i}`)))) === 0) readKey = `read${i}`;
    const keylessBefore = await waitCalls(0);
    const writeNodeBefore = await waitCalls(writeNode);
    const app = await client();

    // Before any write, WAIT goes to the keyless pool's node. Each node has one replica, which
    // acknowledges within the timeout, so WAIT returns 1.
    expect(await app.call(['WAIT', '1', '2000'])).toBe(':1\r\n');
    expect(await waitCalls(0)).toBe(keylessBefore + 1);
    expect(await app.call(['SET', '{u}wait', 'written'])).toBe('+OK\r\n');
    // A read on another node leaves the write's node in place.
    expect(await app.call(['GET', readKey])).toBe('$-1\r\n');
    expect(await app.call(['WAIT', '1', '2000'])).toBe(':1\r\n');
    expect(await waitCalls(writeNode)).toBe(writeNodeBefore + 1);
    expect(await waitCalls(0)).toBe(keylessBefore + 1);
    app.close();
  });
});

describe('cluster sharded pub/sub', () => {
  it('delivers SPUBLISH to SSUBSCRIBE on another node', async () => {
    expect(await ownerOf(keySlot(Buffer.from('{u}chan')))).not.toBe(0);
    const subscriber = await client();
    const publisher = await client();
    expect(await subscriber.call(['SSUBSCRIBE', '{u}chan'])).toBe('*3\r\n$10\r\nssubscribe\r\n$7\r\n{u}chan\r\n:1\r\n');
    expect(await publisher.call(['SPUBLISH', '{u}chan', 'hello'])).toBe(':1\r\n');
    expect(await subscriber.reply()).toBe('*3\r\n$8\r\nsmessage\r\n$7\r\n{u}chan\r\n$5\r\nhello\r\n');
    expect(await subscriber.call(['SSUBSCRIBE', '{v}chan'])).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    expect(await subscriber.call(['SUNSUBSCRIBE'])).toBe('*3\r\n$12\r\nsunsubscribe\r\n$7\r\n{u}chan\r\n:0\r\n');
    expect(await subscriber.call(['SSUBSCRIBE', '{v}chan'])).toBe('*3\r\n$10\r\nssubscribe\r\n$7\r\n{v}chan\r\n:1\r\n');
    subscriber.close();
    publisher.close();
  });
});

/** Node ids by node index, from CLUSTER MYID. */
async function nodeIds(): Promise<string[]> {
  return Promise.all([0, 1, 2].map(async (index) => (await (await node(index)).call(['CLUSTER', 'MYID'])) as string));
}

/** Starts moving `slot` from node `from` to node `to` and moves `key` with MIGRATE. */
async function beginMigration(slot: number, from: number, to: number, key: string): Promise<string[]> {
  const ids = await nodeIds();
  expect(await (await node(to)).call(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', ids[from]!])).toBe('OK');
  expect(await (await node(from)).call(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', ids[to]!])).toBe('OK');
  await migrateKey(from, to, key);
  return ids;
}

/** Moves `key` from node `from` to node `to` with MIGRATE. */
async function migrateKey(from: number, to: number, key: string): Promise<void> {
  const migrate = ['MIGRATE', '127.0.0.1', String(cluster.nodes[to]!.port), '', '0', '5000', 'AUTH', cluster.password, 'KEYS', key];
  expect(await (await node(from)).call(migrate)).toBe('OK');
}

async function finishMigration(slot: number, to: number, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < 3; i++) expect(await (await node(i)).call(['CLUSTER', 'SETSLOT', String(slot), 'NODE', ids[to]!])).toBe('OK');
}

describe('cluster redirects', () => {
  it('follows ASK during a migration', async () => {
    const app = await client();
    const key = 'cache:ask';
    const slot = keySlot(Buffer.from(key));
    expect(await app.call(['SET', key, 'asked'])).toBe('+OK\r\n');
    const from = await ownerOf(slot);
    const to = (from + 1) % 3;
    const ids = await beginMigration(slot, from, to, key);

    const target = `127.0.0.1:${cluster.nodes[to]!.port}`;
    expect(await (await node(from)).call(['GET', key])).toEqual({ error: `ASK ${slot} ${target}` });
    const asksBefore = await metricValue('respguard_upstream_redirects_total', `{node="${target}",kind="ask"}`);
    expect(await app.call(['GET', key])).toBe('$5\r\nasked\r\n');
    expect(await app.call(['GET', key])).toBe('$5\r\nasked\r\n');
    // ASK never changes the slot map, so each GET met exactly one.
    expect(await metricValue('respguard_upstream_redirects_total', `{node="${target}",kind="ask"}`)).toBe(asksBefore + 2);

    await finishMigration(slot, to, ids);
    app.close();
  });

  it('keeps INCR exact during a migration', async () => {
    const key = '{load}counter';
    const slot = keySlot(Buffer.from(key));
    const app = await client();
    expect(await app.call(['SET', key, '0'])).toBe('+OK\r\n');
    const from = await ownerOf(slot);
    const to = (from + 2) % 3;
    let sent = 0;
    let running = true;
    const replies: string[] = [];
    // Pipelines of 20 INCRs go on while the slot moves; each reply must be the next integer.
    const load = (async () => {
      while (running || sent < 200) {
        for (let i = 0; i < 20; i++) app.send(['INCR', key]);
        sent += 20;
        for (let i = 0; i < 20; i++) replies.push(await app.reply());
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const ids = await beginMigration(slot, from, to, key);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await finishMigration(slot, to, ids);
    await new Promise((resolve) => setTimeout(resolve, 20));
    running = false;
    await load;

    expect(replies.length).toBe(sent);
    const wrong = replies.map((reply, i) => ({ i, reply })).filter(({ i, reply }) => reply !== `:${i + 1}\r\n`);
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(await (await node(to)).call(['GET', key])).toBe(String(sent));
    // The INCRs sent after the migration ended met MOVED, which moved the slot in respguard's map.
    expect(server.context.cluster!.poolForSlot(slot).address).toBe(`127.0.0.1:${cluster.nodes[to]!.port}`);
    app.close();
  });

  /**
   * Stores `{tag}a` and `{tag}b`, then starts moving their slot to the next node with only
   * `{tag}a`, so that the slot's keys are on two nodes until the second one follows.
   */
  async function splitSlotKeys(app: RawClient, tag: string): Promise<{ keys: string[]; slot: number; from: number; to: number; ids: string[] }> {
    const keys = [`{${tag}}a`, `{${tag}}b`];
    const slot = slotOf(`{${tag}}`);
    expect(await app.call(['MSET', keys[0]!, '1', keys[1]!, '2'])).toBe('+OK\r\n');
    const from = await ownerOf(slot);
    const to = (from + 1) % 3;
    const ids = await beginMigration(slot, from, to, keys[0]!);
    return { keys, slot, from, to, ids };
  }

  it('retries TRYAGAIN until the migration ends', async () => {
    const app = await client();
    const { keys, slot, from, to, ids } = await splitSlotKeys(app, 'try');
    expect(await (await node(from)).call(['MGET', ...keys])).toEqual({ error: 'TRYAGAIN Multiple keys request during rehashing of slot' });
    const retriesBefore = logs.lines.filter((line) => line.event === 'cluster_tryagain').length;
    app.send(['MGET', ...keys]);
    const retried = async (): Promise<boolean> => logs.lines.filter((line) => line.event === 'cluster_tryagain').length > retriesBefore;
    const deadline = Date.now() + 5000;
    while (!(await retried()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await retried()).toBe(true);

    await migrateKey(from, to, keys[1]!);
    await finishMigration(slot, to, ids);
    expect(await app.reply()).toBe('*2\r\n$1\r\n1\r\n$1\r\n2\r\n');
    app.close();
  });

  it('returns TRYAGAIN after the last retry', async () => {
    const app = await client();
    const { keys, slot, from, to, ids } = await splitSlotKeys(app, 'again');
    try {
      expect(await app.call(['MGET', ...keys])).toBe('-TRYAGAIN Multiple keys request during rehashing of slot\r\n');
      // The first try and 5 retries.
      const attempts = logs.lines.filter((line) => line.event === 'cluster_tryagain' && line.command === 'mget');
      expect(attempts.slice(-5).map((line) => line.attempt)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await migrateKey(from, to, keys[1]!);
      await finishMigration(slot, to, ids);
    }
    expect(await app.call(['MGET', ...keys])).toBe('*2\r\n$1\r\n1\r\n$1\r\n2\r\n');
    app.close();
  });

  it('counts a MOVED redirect per node', async () => {
    const app = await client();
    const key = 'cache:counted';
    const slot = keySlot(Buffer.from(key));
    expect(await app.call(['SET', key, 'counted'])).toBe('+OK\r\n');
    const owner = cluster.addresses[await ownerOf(slot)]!;
    const wrong = cluster.addresses.slice(0, 3).find((address) => address !== owner)!;
    const movedBefore = await metricValue('respguard_upstream_redirects_total', `{node="${owner}",kind="moved"}`);
    // A periodic topology read (every second) that ends between moved() and the GET would undo
    // the wrong owner, so both run right after a read ended.
    const refreshesBefore = server.context.cluster!.refreshes.ok;
    const deadline = Date.now() + 5000;
    while (server.context.cluster!.refreshes.ok === refreshesBefore && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    // Points respguard's map at the wrong primary; the refresh that this schedules comes 100 ms later.
    server.context.cluster!.moved(slot, wrong);
    expect(await app.call(['GET', key])).toBe('$7\r\ncounted\r\n');
    expect(await metricValue('respguard_upstream_redirects_total', `{node="${owner}",kind="moved"}`)).toBe(movedBefore + 1);
    expect(server.context.cluster!.poolForSlot(slot).address).toBe(owner);
    app.close();
  });

  it('follows MOVED and refreshes the map', async () => {
    const app = await client();
    const key = 'cache:moved';
    const slot = keySlot(Buffer.from(key));
    expect(await app.call(['SET', key, 'moved'])).toBe('+OK\r\n');
    expect(await app.call(['SET', 'cache:a', '1'])).toBe('+OK\r\n');
    const from = await ownerOf(slot);
    const to = (from + 1) % 3;
    const ids = await beginMigration(slot, from, to, key);
    await finishMigration(slot, to, ids);
    const newOwner = `127.0.0.1:${cluster.nodes[to]!.port}`;
    const refreshesBefore = server.context.cluster!.refreshes.ok;
    const topologyLines = (): number => logs.lines.filter((line) => line.event === 'cluster_topology').length;
    const linesBefore = topologyLines();
    // The periodic refresh (every second) may already have learned the move; then no MOVED comes.
    const staleBefore = server.context.cluster!.poolForSlot(slot).address !== newOwner;

    expect(await (await node(from)).call(['GET', key])).toEqual({ error: `MOVED ${slot} ${newOwner}` });
    expect(await app.call(['GET', key])).toBe('$5\r\nmoved\r\n');
    expect(await app.call(['MGET', key, 'cache:a'])).toBe('*2\r\n$5\r\nmoved\r\n$1\r\n1\r\n');
    const deadline = Date.now() + 5000;
    while (server.context.cluster!.refreshes.ok === refreshesBefore && staleBefore && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.context.cluster!.poolForSlot(slot).address).toBe(newOwner);
    if (staleBefore) {
      expect(server.context.cluster!.refreshes.ok).toBeGreaterThan(refreshesBefore);
      expect(topologyLines()).toBeGreaterThan(linesBefore);
    }
    const movedLine = logs.lines.find((line) => line.msg === 'cluster slot range moved' && line.start === slot);
    expect(movedLine).toMatchObject({ end: slot, to: newOwner, failover: false });
    // Slots moved between primaries: no failover.
    expect(await metricValue('respguard_upstream_failovers_total', '{mode="cluster"}')).toBe(0);
    app.close();
  });
});

/** Returns the hash slot of `key`. */
function slotOf(key: string): number {
  return keySlot(Buffer.from(key));
}

/** respguard's reply to a command whose keys are on another node than the client's pinned state. */
function otherNodeError(name: string, state: string): string {
  return `-ERR '${name}' cannot run: its keys are on another cluster node than the upstream connection that holds this client's ${state} state. Use another connection, or end that state first (RESET ends all)\r\n`;
}

describe('cluster pinned sessions', () => {
  // The keyless pool is node 0's, so SUBSCRIBE, CLIENT TRACKING and MONITOR pin a connection there.
  it('places the test keys on known nodes', async () => {
    expect(await ownerOf(slotOf('secret:x'))).toBe(0);
    expect(await ownerOf(slotOf('chan:b'))).toBe(0);
    expect(await ownerOf(slotOf('app:1'))).toBe(1);
    expect(await ownerOf(slotOf('pin:a'))).toBe(1);
    expect(await ownerOf(slotOf('chan:a'))).toBe(2);
  });

  it('routes other nodes keys after WATCH', async () => {
    const app = await client();
    expect(await app.call(['SET', 'app:1', 'one'])).toBe('+OK\r\n');
    expect(await app.call(['WATCH', 'secret:x'])).toBe('+OK\r\n');
    expect(await app.call(['GET', 'app:1'])).toBe('$3\r\none\r\n');
    expect(await app.call(['SET', 'app:1', 'two'])).toBe('+OK\r\n');
    expect(await app.call(['MGET', 'app:1', 'secret:x'])).toBe('*2\r\n$3\r\ntwo\r\n$-1\r\n');
    expect(await app.call(['DBSIZE'])).toMatch(/^:\d+\r\n$/);
    // The transaction still runs on the node of the watched key.
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['SET', 'secret:x', 'mine'])).toBe('+QUEUED\r\n');
    expect(await app.call(['EXEC'])).toBe('*1\r\n+OK\r\n');
    expect(await app.call(['GET', 'app:1'])).toBe('$3\r\ntwo\r\n');
    // A blocking command on another node would need a second pinned connection, and the keys
    // of one client's WATCH commands must share a slot.
    expect(await app.call(['WATCH', 'secret:x'])).toBe('+OK\r\n');
    expect(await app.call(['BLPOP', 'app:list', '1'])).toBe(otherNodeError('blpop', 'WATCH'));
    expect(await app.call(['WATCH', 'app:1'])).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    expect(await app.call(['UNWATCH'])).toBe('+OK\r\n');
    app.close();
  });

  it('routes other nodes keys in RESP3 pub/sub', async () => {
    const app = await client();
    const publisher = await client();
    expect(await app.call(['HELLO', '3'])).toMatch(/^%/);
    expect(await app.call(['SUBSCRIBE', 'news'])).toBe('>3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n');
    expect(await app.call(['SET', 'app:1', 'three'])).toBe('+OK\r\n');
    expect(await app.call(['GET', 'app:1'])).toBe('$5\r\nthree\r\n');
    expect(await publisher.call(['PUBLISH', 'news', 'hi'])).toBe(':1\r\n');
    expect(await app.reply()).toBe('>3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n');
    expect(await app.call(['PING'])).toBe('+PONG\r\n');
    // The subscription fixed the node, so a transaction can use only that node's keys.
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['GET', 'app:1'])).toBe(otherNodeError('get', 'MULTI'));
    expect(await app.call(['SET', 'secret:x', 'in-multi'])).toBe('+QUEUED\r\n');
    expect(await app.call(['EXEC'])).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['SET', 'secret:x', 'mine'])).toBe('+QUEUED\r\n');
    expect(await app.call(['EXEC'])).toBe('*1\r\n+OK\r\n');
    // The next transaction may use another slot of the same node.
    expect(await ownerOf(slotOf('cache:b'))).toBe(0);
    expect(await app.call(['MULTI'])).toBe('+OK\r\n');
    expect(await app.call(['SET', 'cache:b', 'b'])).toBe('+QUEUED\r\n');
    expect(await app.call(['EXEC'])).toBe('*1\r\n+OK\r\n');
    app.close();
    publisher.close();
  });

  it('rejects SSUBSCRIBE on another node after SUBSCRIBE', async () => {
    const app = await client();
    expect(await app.call(['SUBSCRIBE', 'news'])).toBe('*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n');
    expect(await app.call(['SSUBSCRIBE', 'chan:a'])).toBe(otherNodeError('ssubscribe', 'SUBSCRIBE'));
    expect(await app.call(['SSUBSCRIBE', 'chan:b'])).toBe('*3\r\n$10\r\nssubscribe\r\n$6\r\nchan:b\r\n:1\r\n');
    // Without shard channels, another slot of the pinned node may take their place.
    expect(await ownerOf(slotOf('pin:c'))).toBe(0);
    expect(await app.call(['SUNSUBSCRIBE'])).toBe('*3\r\n$12\r\nsunsubscribe\r\n$6\r\nchan:b\r\n:0\r\n');
    expect(await app.call(['SSUBSCRIBE', 'pin:c'])).toBe('*3\r\n$10\r\nssubscribe\r\n$5\r\npin:c\r\n:1\r\n');
    app.close();
  });

  it('answers READONLY without pinning', async () => {
    const app = await client();
    expect(await (await node(1)).call(['READONLY'])).toBe('OK');
    expect(await app.call(['READONLY'])).toBe('+OK\r\n');
    expect(await app.call(['GET', 'app:1'])).toBe('$5\r\nthree\r\n');
    expect(await app.call(['GET', 'secret:x'])).toBe('$4\r\nmine\r\n');
    expect(await app.call(['READWRITE'])).toBe('+OK\r\n');
    app.close();
  });

  it('answers SELECT as Redis Cluster does', async () => {
    const app = await client();
    const direct = await node(1);
    for (const index of ['1', '-1']) {
      expect(await direct.call(['SELECT', index])).toEqual({ error: 'ERR SELECT is not allowed in cluster mode' });
      expect(await app.call(['SELECT', index])).toBe('-ERR SELECT is not allowed in cluster mode\r\n');
    }
    expect(await direct.call(['SELECT', 'x'])).toEqual({ error: 'ERR value is not an integer or out of range' });
    expect(await app.call(['SELECT', 'x'])).toBe('-ERR value is not an integer or out of range\r\n');
    expect(await app.call(['GET', 'app:1'])).toBe('$5\r\nthree\r\n');
    expect(await app.call(['SELECT', '0'])).toBe('+OK\r\n');
    expect(await app.call(['GET', 'secret:x'])).toBe('$4\r\nmine\r\n');
    expect(await app.call(['GET', 'app:1'])).toBe('$5\r\nthree\r\n');
    app.close();
  });

  it('tracks keys of every node', async () => {
    const app = await client();
    const writer = await client();
    const pinnedBefore = server.context.cluster!.pinned.stats().active;
    expect(await app.call(['HELLO', '3'])).toMatch(/^%/);
    expect(await app.call(['CLIENT', 'TRACKING', 'ON'])).toBe('+OK\r\n');
    expect(await app.call(['GET', 'secret:x'])).toBe('$4\r\nmine\r\n');
    // app:1 is read on a connection that respguard pinned on node 1 with tracking on.
    expect(await app.call(['GET', 'app:1'])).toBe('$5\r\nthree\r\n');
    expect(server.context.cluster!.pinned.stats().active).toBe(pinnedBefore + 2);
    expect(await writer.call(['SET', 'app:1', 'four'])).toBe('+OK\r\n');
    expect(await app.reply()).toBe('>2\r\n$10\r\ninvalidate\r\n*1\r\n$5\r\napp:1\r\n');
    expect(await writer.call(['SET', 'secret:x', 'changed'])).toBe('+OK\r\n');
    expect(await app.reply()).toBe('>2\r\n$10\r\ninvalidate\r\n*1\r\n$8\r\nsecret:x\r\n');
    expect(await app.call(['MGET', 'secret:x', 'app:1'])).toBe('*2\r\n$7\r\nchanged\r\n$4\r\nfour\r\n');
    expect(await app.call(['CLIENT', 'TRACKING', 'OFF'])).toBe('+OK\r\n');
    expect(server.context.cluster!.pinned.stats().active).toBe(pinnedBefore);
    expect(await app.call(['GET', 'app:1'])).toBe('$4\r\nfour\r\n');
    app.close();
    writer.close();
  });

  it('broadcasts invalidations of every node', async () => {
    const app = await client();
    const writer = await client();
    expect(await app.call(['HELLO', '3'])).toMatch(/^%/);
    expect(await app.call(['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'app:'])).toBe('+OK\r\n');
    // Written on node 1 and node 0, and read by no client before.
    expect(await writer.call(['SET', 'app:1', 'five'])).toBe('+OK\r\n');
    expect(await app.reply()).toBe('>2\r\n$10\r\ninvalidate\r\n*1\r\n$5\r\napp:1\r\n');
    expect(await ownerOf(slotOf('app:3'))).toBe(0);
    expect(await writer.call(['SET', 'app:3', 'x'])).toBe('+OK\r\n');
    expect(await app.reply()).toBe('>2\r\n$10\r\ninvalidate\r\n*1\r\n$5\r\napp:3\r\n');
    expect(await app.call(['RESET'])).toBe('+RESET\r\n');
    app.close();
    writer.close();
  });

  it('answers an invalid BCAST request once', async () => {
    const app = await client();
    expect(await app.call(['HELLO', '3'])).toMatch(/^%/);
    const direct = await (await node(0)).call(['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX']);
    expect(direct).toEqual({ error: 'ERR syntax error' });
    expect(await app.call(['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX'])).toBe('-ERR syntax error\r\n');
    expect(await app.call(['PING'])).toBe('+PONG\r\n');
    expect(await app.call(['GET', 'app:1'])).toMatch(/^\$/);
    app.close();
  });

  it('keeps redirected tracking on its node', async () => {
    const listener = await client();
    const app = await client();
    const writer = await client();
    const id = (await listener.call(['CLIENT', 'ID'])).slice(1, -2);
    expect(await listener.call(['SUBSCRIBE', '__redis__:invalidate'])).toBe('*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n');
    expect(await app.call(['CLIENT', 'TRACKING', 'ON', 'REDIRECT', id])).toBe('+OK\r\n');
    expect(await app.call(['GET', 'secret:x'])).toBe('$7\r\nchanged\r\n');
    // The listener's upstream connection is on node 0, where the client id of REDIRECT exists.
    expect(await app.call(['GET', 'app:1'])).toBe(otherNodeError('get', 'CLIENT TRACKING'));
    expect(await app.call(['MGET', 'secret:x', 'app:1'])).toBe(otherNodeError('mget', 'CLIENT TRACKING'));
    expect(await writer.call(['SET', 'secret:x', 'again'])).toBe('+OK\r\n');
    expect(await listener.reply()).toBe('*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$8\r\nsecret:x\r\n');
    app.close();
    listener.close();
    writer.close();
  });

  it('follows or rejects ASK on a pinned connection', async () => {
    const key = 'pin:a';
    const slot = slotOf(key);
    const app = await client();
    expect(await app.call(['SET', key, 'moving'])).toBe('+OK\r\n');
    expect(await app.call(['SET', 'app:2', 'stays'])).toBe('+OK\r\n');
    expect(await ownerOf(slotOf('app:2'))).toBe(1);
    const ids = await beginMigration(slot, 1, 2, key);
    try {
      // A queued command cannot move: the client gets an error, and EXEC aborts as in Redis.
      expect(await app.call(['MULTI'])).toBe('+OK\r\n');
      expect(await app.call(['GET', key])).toBe(
        `-ERR 'get' did not run: its hash slot is moving to another cluster node, which the upstream connection that holds this client's MULTI state cannot follow, and EXEC will fail with EXECABORT. Try again later\r\n`,
      );
      expect(await app.call(['EXEC'])).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
      // Outside MULTI, a command on the pinned connection follows ASK to the other node.
      expect(await app.call(['WATCH', 'app:2'])).toBe('+OK\r\n');
      expect(await app.call(['GET', key])).toBe('$6\r\nmoving\r\n');
      expect(await app.call(['UNWATCH'])).toBe('+OK\r\n');
      expect(await app.call(['GET', key])).toBe('$6\r\nmoving\r\n');
    } finally {
      await finishMigration(slot, 2, ids);
    }
    app.close();
  });
});
