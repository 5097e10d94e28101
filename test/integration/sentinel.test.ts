/**
 * respguard in sentinel mode in front of a real Sentinel setup (a primary, two replicas, three
 * sentinels with a password of their own, which respguard reaches over TLS while it reaches the
 * data nodes in plain TCP): clients that know nothing of Sentinel see one Redis.
 * Covers routing to the primary the sentinels name, ioredis and node-redis in standalone mode,
 * reads from replicas for a user who opts in, and two failovers under load, one with SENTINEL
 * FAILOVER and one with the primary killed: no client ever gets a reply that is not its own,
 * every request gets a reply (an error during the switch), and the recovery time is printed.
 */
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetricsObserver, type MetricsObserver } from '../../src/observability/metrics-observer.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { reportFigures, waitFor } from '../faults/load.js';
import { CertificateDir } from '../helpers/certificates.js';
import { captureLogs, type LogCapture } from '../helpers/proxy.js';
import { freePort } from '../helpers/redis-server.js';
import { query, startRedisSentinel, type RedisSentinelSetup } from '../helpers/redis-sentinel.js';
import { RawClient } from '../helpers/resp-client.js';

/** A reply that takes longer than this counts as a hang (generous, for loaded CI machines). */
const HANG_MS = 5000;
/** Clients running the INCR, SET, GET loop during a failover. */
const LOAD_CLIENTS = 8;

const certificates = new CertificateDir();
let setup: RedisSentinelSetup;
let server: RunningServer;
let observer: MetricsObserver;
let logs: LogCapture;
let port: number;

beforeAll(async () => {
  const ca = await certificates.createCa('ca');
  const sentinelCertificate = await certificates.issueServer(ca, 'sentinel');
  setup = await startRedisSentinel({ tls: { certFile: sentinelCertificate.certFile, keyFile: sentinelCertificate.keyFile, caFile: ca.certFile } });
  port = await freePort();
  const sentinel = { masterName: setup.masterName, nodes: setup.sentinelTlsAddresses, password: setup.sentinelPassword, tls: { ca: ca.certFile } };
  const yaml =
    `listeners:\n  - host: 127.0.0.1\n    port: ${port}\n` +
    `upstream:\n  mode: sentinel\n  password: ${setup.password}\n  pool: { size: 2 }\n` +
    `  sentinel: ${JSON.stringify(sentinel)}\n` +
    `users:\n  app:\n    acl: "on >app-pass ~* &* +@all"\n` +
    `  reader: { acl: "on >r-pass ~* &* +@all", readFromReplicas: true }\n`;
  const captured = captureLogs();
  logs = captured.capture;
  const logger = createLogger('debug', captured.stream);
  observer = createMetricsObserver(logger, { processMetrics: false });
  server = await startServer(parseConfig(yaml, 'sentinel.yaml', {}), { logger, observer });
  observer.watchTopology(server.context.sentinel!, 'sentinel');
  if (!(await waitFor(() => server.context.pool.isReady, 10_000))) throw new Error('respguard found no primary through the sentinels');
}, 30_000);

afterAll(async () => {
  await server?.close(1000);
  await setup?.stop();
  certificates.remove();
});

/** Opens an authenticated client of respguard. */
async function client(user = 'app', password = 'app-pass'): Promise<RawClient> {
  const connection = await RawClient.connect(port);
  expect(await connection.call(['AUTH', user, password])).toBe('+OK\r\n');
  return connection;
}

/** Runs one command on the data node listening on `nodePort`, with the data password. */
function onNode(nodePort: number, args: readonly string[]) {
  return query(nodePort, setup.password, args);
}

/** Reads a counter of the metrics registry, 0 when the series is absent. */
async function counterValue(series: string): Promise<number> {
  const text = await observer.metrics.registry.metrics();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('sentinel mode', () => {
  it('sends requests to the primary that the sentinels name', async () => {
    const app = await client();
    expect(await app.call(['SET', 'routing:k', 'on-primary'])).toBe('+OK\r\n');
    expect(await onNode(await setup.primaryPort(), ['GET', 'routing:k'])).toBe('on-primary');
    expect(await app.call(['GET', 'routing:k'])).toBe('$10\r\non-primary\r\n');
    expect(logs.lines.some((line) => line.msg === 'found the primary through the sentinels')).toBe(true);
    expect(await counterValue('respguard_upstream_topology_refreshes_total{result="ok"}')).toBeGreaterThan(0);
    expect(await counterValue(`respguard_upstream_node_connections{node="127.0.0.1:${await setup.primaryPort()}"}`)).toBe(4);
    app.close();
  });

  it('serves ioredis in standalone mode', async () => {
    const redis = new IORedis({ host: '127.0.0.1', port, username: 'app', password: 'app-pass', lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      expect(await redis.set('io:s', 'v1')).toBe('OK');
      expect(await redis.get('io:s')).toBe('v1');
      expect(await redis.incrby('io:n', 5)).toBe(5);
      const results = await redis.pipeline(Array.from({ length: 100 }, (_, i) => ['set', `io:p${i}`, String(i)])).exec();
      expect(results?.every(([error, value]) => error === null && value === 'OK')).toBe(true);
      expect(await redis.multi().incr('io:n').get('io:s').exec()).toEqual([
        [null, 6],
        [null, 'v1'],
      ]);
      const subscriber = redis.duplicate();
      await subscriber.subscribe('io:channel');
      const message = new Promise<string>((resolve) => subscriber.once('message', (_channel: string, text: string) => resolve(text)));
      await redis.publish('io:channel', 'hello');
      expect(await message).toBe('hello');
      subscriber.disconnect();
    } finally {
      redis.disconnect();
    }
  });

  it('serves node-redis in standalone mode', async () => {
    const redis = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false }, username: 'app', password: 'app-pass' });
    redis.on('error', () => {});
    await redis.connect();
    try {
      expect(await redis.set('nr:s', 'v1')).toBe('OK');
      expect(await redis.get('nr:s')).toBe('v1');
      expect(await redis.incrBy('nr:n', 5)).toBe(5);
      expect(await redis.multi().incr('nr:n').get('nr:s').exec()).toEqual([6, 'v1']);
      expect(await redis.hSet('nr:h', { a: '1', b: '2' })).toBe(2);
      expect(await redis.hGetAll('nr:h')).toEqual({ a: '1', b: '2' });
    } finally {
      redis.destroy();
    }
  });

  it('sends read-only commands of a user with readFromReplicas to a replica', async () => {
    const primary = await setup.primaryPort();
    const replicas = setup.nodes.map((node) => node.port).filter((nodePort) => nodePort !== primary);
    // A key that only the replicas hold: written on each while it briefly accepts writes.
    for (const replica of replicas) {
      await onNode(replica, ['CONFIG', 'SET', 'replica-read-only', 'no']);
      await onNode(replica, ['SET', 'only-on-replicas', `replica-${replica}`]);
      await onNode(replica, ['CONFIG', 'SET', 'replica-read-only', 'yes']);
    }
    const reader = await client('reader', 'r-pass');
    // The first reads go to the primary while the replica pools connect.
    let reply = '';
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      reply = await reader.call(['GET', 'only-on-replicas']);
      if (reply !== '$-1\r\n') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(replicas.map((replica) => `$${`replica-${replica}`.length}\r\nreplica-${replica}\r\n`)).toContain(reply);

    // Writes, and reads inside a transaction, go to the primary.
    expect(await reader.call(['SET', 'reader:k', 'written'])).toBe('+OK\r\n');
    expect(await onNode(primary, ['GET', 'reader:k'])).toBe('written');
    expect(await reader.call(['MULTI'])).toBe('+OK\r\n');
    expect(await reader.call(['GET', 'only-on-replicas'])).toBe('+QUEUED\r\n');
    expect(await reader.call(['EXEC'])).toBe('*1\r\n$-1\r\n');
    // Users without the option read from the primary.
    const app = await client();
    expect(await app.call(['GET', 'only-on-replicas'])).toBe('$-1\r\n');
    app.close();
    reader.close();
  });

  it('answers at once while no primary is known', async () => {
    // Sentinel credentials are respguard's own: with a wrong sentinel password it finds no primary.
    const otherPort = await freePort();
    const sentinel = { masterName: setup.masterName, nodes: setup.sentinelAddresses, password: 'wrong' };
    const yaml =
      `listeners:\n  - host: 127.0.0.1\n    port: ${otherPort}\n` +
      `upstream: { mode: sentinel, password: ${setup.password}, sentinel: ${JSON.stringify(sentinel)} }\n` +
      `users:\n  app:\n    acl: "on >app-pass ~* &* +@all"\n`;
    const captured = captureLogs();
    const other = await startServer(parseConfig(yaml, 'wrong.yaml', {}), { logger: createLogger('info', captured.stream) });
    try {
      const app = await RawClient.connect(otherPort);
      expect(await app.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
      const unavailable = '-ERR upstream unavailable (looking for the primary of mymaster through the sentinels); respguard is reconnecting, try again\r\n';
      const started = Date.now();
      expect(await app.call(['GET', 'k'], HANG_MS)).toBe(unavailable);
      expect(await app.call(['MULTI'], HANG_MS)).toBe(unavailable);
      expect(await app.call(['SUBSCRIBE', 'news'], HANG_MS)).toBe(unavailable);
      expect(Date.now() - started).toBeLessThan(1500);
      app.close();
      const failed = () => captured.capture.lines.find((line) => line.msg === 'sentinel connection failed; reconnecting');
      expect(await waitFor(() => failed() !== undefined, HANG_MS)).toBe(true);
      expect(failed()?.reason).toBe(
        `the sentinel ${failed()?.sentinel} rejected respguard's credentials or HELLO ` +
          '(check upstream.sentinel.username and upstream.sentinel.password): WRONGPASS invalid username-password pair or user is disabled.',
      );
      expect(captured.capture.text()).not.toContain(setup.sentinelPassword);
    } finally {
      await other.close(500);
    }
  });

  it('follows SENTINEL FAILOVER under load without a wrong reply', async () => {
    const before = await setup.primaryPort();
    // Clients with connection state on the old primary are disconnected by the switch. A
    // blocked client gets an error for its command and goes on without state.
    const subscriber = await client();
    expect(await subscriber.call(['SUBSCRIBE', 'news'])).toBe('*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n');
    const transaction = await client();
    expect(await transaction.call(['MULTI'])).toBe('+OK\r\n');
    expect(await transaction.call(['SET', 'in-multi', '1'])).toBe('+QUEUED\r\n');
    const blocked = await client();
    blocked.send(['BLPOP', 'never-filled', '0']);

    const result = await underLoad(async () => {
      expect(await setup.sentinel(0, ['FAILOVER', setup.masterName])).toBe('OK');
    });
    report('SENTINEL FAILOVER', result);
    expect(result.wrong).toEqual([]);
    const after = await setup.primaryPort();
    expect(after).not.toBe(before);
    expect(server.context.pool.address).toBe(`127.0.0.1:${after}`);
    expect(await subscriber.waitClosed(HANG_MS)).toBe(true);
    expect(await transaction.waitClosed(HANG_MS)).toBe(true);
    expect(await blocked.reply(HANG_MS)).toBe('-ERR upstream connection lost before the reply; the command may or may not have run\r\n');
    expect(await blocked.call(['SET', 'after-blpop', '1'], HANG_MS)).toBe('+OK\r\n');
    blocked.close();
    expect(await counterValue('respguard_upstream_failovers_total{mode="sentinel"}')).toBe(1);
    const switched = logs.lines.find((line) => line.msg === 'the upstream primary switched');
    expect(switched).toMatchObject({ from: `127.0.0.1:${before}`, to: `127.0.0.1:${after}` });
  });

  it('follows a killed primary under load without a wrong reply', async () => {
    // A replica that missed the writes since the last failover must not be the one promoted.
    await setup.settle();
    const before = await setup.primaryPort();
    const primary = setup.nodes.find((node) => node.port === before)!;
    const result = await underLoad(async () => {
      primary.process.kill('SIGKILL');
    });
    report('primary killed', result);
    expect(result.wrong).toEqual([]);
    const after = await setup.primaryPort();
    expect(after).not.toBe(before);
    expect(server.context.pool.address).toBe(`127.0.0.1:${after}`);
    expect(await counterValue('respguard_upstream_failovers_total{mode="sentinel"}')).toBe(2);
  });
});

interface LoadResult {
  /** Replies that do not belong to their request, and hangs. */
  readonly wrong: string[];
  /** Error replies by their first words. */
  readonly errors: Map<string, number>;
  readonly requests: number;
  /** Time from the failover's start to the first successful write after the first error reply; -1 when there was none. */
  readonly recoveryMs: number;
  /** Time from the first error reply to that write. */
  readonly errorWindowMs: number;
  /** Time from the first +switch-master that respguard received to its switch, from its log. */
  readonly followMs: number;
}

/**
 * Runs LOAD_CLIENTS clients that pipeline INCR, SET and GET on keys of their own through
 * respguard, runs `failover` once they are going, and stops them once respguard switched to a
 * new primary and writes succeed again. Each reply is checked against its request: INCR results
 * grow strictly per client, GET returns a value this client set, every reply comes within HANG_MS.
 */
async function underLoad(failover: () => Promise<void>): Promise<LoadResult> {
  const failoversBefore = server.context.sentinel!.topologyStats().failovers;
  const wrong: string[] = [];
  const errors = new Map<string, number>();
  let requests = 0;
  let firstError = 0;
  let recoveredAt = 0;
  let stopping = false;
  const switched = (): boolean => server.context.sentinel!.topologyStats().failovers > failoversBefore;

  const onError = (reply: string): void => {
    if (firstError === 0) firstError = Date.now();
    const kind = reply.slice(1).split(/[(;]/)[0]!.trim();
    errors.set(kind, (errors.get(kind) ?? 0) + 1);
    if (!/^-(ERR upstream|READONLY)/.test(reply)) wrong.push(`unexpected error ${reply.trim()}`);
  };
  const onWrite = (): void => {
    if (firstError !== 0 && recoveredAt === 0 && switched()) recoveredAt = Date.now();
  };

  const runClient = async (id: number): Promise<void> => {
    const connection = await client();
    let lastIncr = 0;
    let seq = 0;
    let setSucceeded = false;
    const token = new RegExp(`^\\$\\d+\\r\\nc${id}-(\\d+)\\r\\n$`);
    while (!stopping) {
      seq += 1;
      connection.send(['INCR', `load:${id}:n`]).send(['SET', `load:${id}:v`, `c${id}-${seq}`]).send(['GET', `load:${id}:v`]);
      const replies = [await connection.reply(HANG_MS), await connection.reply(HANG_MS), await connection.reply(HANG_MS)];
      requests += 3;
      const [incr, set, get] = replies as [string, string, string];
      if (replies.some((reply) => reply === 'TIMEOUT' || reply === 'CLOSED')) {
        wrong.push(`client ${id}: ${replies.join(' | ')}`);
        break;
      }
      if (incr.startsWith(':')) {
        const value = Number(incr.slice(1));
        if (value <= lastIncr) wrong.push(`client ${id}: INCR gave ${value} after ${lastIncr}`);
        lastIncr = value;
        onWrite();
      } else if (incr.startsWith('-')) onError(incr);
      else wrong.push(`client ${id}: INCR reply ${JSON.stringify(incr)}`);
      if (set === '+OK\r\n') {
        setSucceeded = true;
        onWrite();
      } else if (set.startsWith('-')) onError(set);
      else wrong.push(`client ${id}: SET reply ${JSON.stringify(set)}`);
      const own = token.exec(get);
      if (get.startsWith('-')) onError(get);
      else if (own ? Number(own[1]) > seq : get !== '$-1\r\n' || setSucceeded) wrong.push(`client ${id}: GET reply ${JSON.stringify(get)} at seq ${seq}`);
    }
    connection.close();
  };

  const clients = Array.from({ length: LOAD_CLIENTS }, (_, id) => runClient(id));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const startedAt = Date.now();
  const firstLogLine = logs.lines.length;
  await failover();
  // Some more load after the recovery shows that the new primary serves every client.
  await waitFor(() => (recoveredAt !== 0 && Date.now() > recoveredAt + 300) || wrong.length > 0, 20_000);
  stopping = true;
  await Promise.all(clients);
  if (recoveredAt === 0) wrong.push('no write succeeded after the switch within 20 s');
  const lines = logs.lines.slice(firstLogLine);
  const announced = lines.find((line) => line.msg === 'sentinel event' && line.channel === '+switch-master');
  const followed = lines.find((line) => line.msg === 'the upstream primary switched');
  return {
    wrong,
    errors,
    requests,
    recoveryMs: recoveredAt === 0 ? -1 : recoveredAt - startedAt,
    errorWindowMs: recoveredAt - firstError,
    followMs: announced && followed ? Date.parse(String(followed.time)) - Date.parse(String(announced.time)) : -1,
  };
}

/** Prints the figures of one failover run, which docs/RELIABILITY.md quotes. */
function report(name: string, result: LoadResult): void {
  reportFigures(`sentinel failover, ${name}`, {
    recoveryMs: result.recoveryMs,
    errorWindowMs: result.errorWindowMs,
    followMs: result.followMs,
    clients: LOAD_CLIENTS,
    requests: result.requests,
    errorReplies: Object.fromEntries(result.errors),
    wrongReplies: result.wrong.length,
  });
}
