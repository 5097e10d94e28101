/**
 * Failovers of a real Redis Cluster (three primaries with one replica each, cluster-node-timeout
 * 1000 ms) while clients run INCR, SET and GET through respguard. The first test runs CLUSTER
 * FAILOVER on a replica. The second kills the primary it became with SIGKILL, and its replica
 * takes over on its own. The third stops another primary with SIGSTOP, so that its connections
 * stay open and its requests get no reply, until its replica takes over. No client may get a
 * wrong reply or wait for one without end. The time from the failover's start to the first write
 * that the new primary accepted is printed as a `[figures]` line. The last test stops the primary
 * that the topology reads go to, with no load, and checks that the reads move to another node.
 */
import { readFileSync } from 'node:fs';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsObserver } from '../../src/observability/metrics-observer.js';
import type { RunningServer } from '../../src/server.js';
import { keySlot } from '../../src/upstream/cluster/slots.js';
import { CONNECTION_LOST_REPLY } from '../../src/upstream/connection.js';
import { metricValue as metricValueOf, startClusterProxy } from '../helpers/cluster-proxy.js';
import type { LogCapture } from '../helpers/proxy.js';
import { queryNode, startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { RawClient } from '../helpers/resp-client.js';
import type { RedisServer } from '../helpers/redis-server.js';

/** Clients whose keys live on the primary that fails over, and one more on another primary. */
const AFFECTED_CLIENTS = 4;
/** A reply later than this counts as a hang. */
const REPLY_TIMEOUT_MS = 5000;

let cluster: RedisCluster;
let server: RunningServer;
let observer: MetricsObserver;
let logs: LogCapture;
let port: number;
/** A node stopped with SIGSTOP and not yet continued, so that afterAll can continue it if a check failed. */
let stoppedNode: RedisServer | null = null;

beforeAll(async () => {
  cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: 1000 });
  const users = `users:\n  app:\n    acl: "on >app-pass ~* +@all"\n`;
  ({ server, observer, logs, port } = await startClusterProxy(cluster, cluster.addresses.slice(0, 3), users));
}, 60_000);

afterAll(async () => {
  stoppedNode?.process.kill('SIGCONT');
  await server?.close(2000);
  await cluster?.stop();
});

/** Returns `count` hash tags whose slots are served by the primary at `cluster.nodes[primary]`, from its slot range. */
async function tagsOn(primary: number, count: number): Promise<string[]> {
  const ranges = (await queryNode(cluster.nodes[0]!.port, cluster.password, ['CLUSTER', 'SLOTS'])) as [number, number, [string, number]][];
  const owned = ranges.filter((range) => range[2][1] === cluster.nodes[primary]!.port);
  const tags: string[] = [];
  for (let i = 0; tags.length < count; i++) {
    const slot = keySlot(Buffer.from(`fo${i}`));
    if (owned.some(([start, end]) => start <= slot && slot <= end)) tags.push(`fo${i}`);
  }
  return tags;
}

async function metricValue(name: string, labels = ''): Promise<number> {
  return metricValueOf(observer, name, labels);
}

async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What one load client saw: replies that break its expectations, hangs, and its accepted writes. */
interface ClientRecord {
  readonly wrong: string[];
  hangs: number;
  errors: number;
  /** Maximum time a request waited for its reply, in ms. */
  slowestMs: number;
  /** Send and reply times (Date.now()) of each write that the upstream accepted. */
  readonly writes: { sentAt: number; repliedAt: number }[];
}

/**
 * Runs INCR, SET and GET on keys tagged `tag` in a loop until `running()` is false. INCR replies
 * must strictly increase. GET must return the last value SET accepted, or the value of a SET
 * that failed since (an error can come after the command ran), or an error.
 */
async function runClient(tag: string, running: () => boolean, record: ClientRecord): Promise<void> {
  const connection = await RawClient.connect(port);
  expect(await connection.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
  const counter = `{${tag}}counter`;
  const key = `{${tag}}value`;
  expect(await connection.call(['DEL', counter, key])).toMatch(/^:[0-9]\r\n$/);
  let lastCount = 0n;
  let acceptable = new Set<string | null>([null]);
  for (let round = 1; running(); round++) {
    const incr = await timed(connection, ['INCR', counter], record);
    if (incr === null) return;
    if (incr.reply.startsWith(':')) {
      const count = BigInt(incr.reply.slice(1, -2));
      if (count <= lastCount) record.wrong.push(`INCR ${counter}: ${count} after ${lastCount}`);
      lastCount = count;
      record.writes.push(incr);
    } else if (!expectError(incr.reply, record)) {
      record.wrong.push(`INCR ${counter}: ${incr.reply}`);
    }

    const value = `${tag}-${round}`;
    const set = await timed(connection, ['SET', key, value], record);
    if (set === null) return;
    if (set.reply === '+OK\r\n') {
      acceptable = new Set([value]);
      record.writes.push(set);
    } else if (expectError(set.reply, record)) {
      acceptable.add(value);
    } else {
      record.wrong.push(`SET ${key}: ${set.reply}`);
    }

    const get = await timed(connection, ['GET', key], record);
    if (get === null) return;
    if (get.reply.startsWith('-')) continue;
    const got = get.reply === '$-1\r\n' ? null : get.reply.split('\r\n')[1]!;
    if (!acceptable.has(got)) record.wrong.push(`GET ${key}: ${got} where ${[...acceptable].join(' or ')} was set`);
  }
  connection.close();
}

/** Sends one request and waits for its reply; returns null, counting a hang, when none came in time. */
async function timed(connection: RawClient, args: string[], record: ClientRecord): Promise<{ reply: string; sentAt: number; repliedAt: number } | null> {
  const sentAt = Date.now();
  const reply = await connection.call(args, REPLY_TIMEOUT_MS);
  if (reply === 'TIMEOUT' || reply === 'CLOSED') {
    record.hangs += 1;
    record.wrong.push(`${args[0]}: ${reply}`);
    return null;
  }
  const repliedAt = Date.now();
  record.slowestMs = Math.max(record.slowestMs, repliedAt - sentAt);
  return { reply, sentAt, repliedAt };
}

function expectError(reply: string, record: ClientRecord): boolean {
  if (!reply.startsWith('-')) return false;
  record.errors += 1;
  return true;
}

/** Runs INCR through ioredis in a loop; records a wrong reply when a count does not increase. */
async function runIoredis(tag: string, running: () => boolean, record: ClientRecord): Promise<void> {
  const redis = new IORedis({ host: '127.0.0.1', port, username: 'app', password: 'app-pass', lazyConnect: true, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  await redis.connect();
  let lastCount = 0;
  await redis.del(`{${tag}}io`);
  while (running()) {
    const sentAt = Date.now();
    try {
      const count = await redis.incr(`{${tag}}io`);
      if (count <= lastCount) record.wrong.push(`ioredis INCR: ${count} after ${lastCount}`);
      lastCount = count;
      record.writes.push({ sentAt, repliedAt: Date.now() });
    } catch {
      record.errors += 1;
    }
    record.slowestMs = Math.max(record.slowestMs, Date.now() - sentAt);
  }
  redis.disconnect();
}

/** Starts the load; `stop` ends it and resolves with the records of every client. */
async function startLoad(affectedTags: readonly string[], otherTag: string): Promise<{ records: ClientRecord[]; stop: () => Promise<ClientRecord[]> }> {
  let running = true;
  const isRunning = (): boolean => running;
  const records = [...affectedTags, otherTag, affectedTags[0]!].map((): ClientRecord => ({ wrong: [], hangs: 0, errors: 0, slowestMs: 0, writes: [] }));
  const clients = [...affectedTags, otherTag].map((tag, i) => runClient(tag, isRunning, records[i]!));
  clients.push(runIoredis(affectedTags[0]!, isRunning, records[records.length - 1]!));
  // Let every client write before the failover starts.
  await waitFor(() => records.every((record) => record.writes.length > 0), 'the first write of every client', 5000);
  return {
    records,
    async stop() {
      running = false;
      await Promise.all(clients);
      return records;
    },
  };
}

/** Checks that no client got a wrong reply or waited in vain; returns the records of the clients whose keys failed over. */
function affectedAfterChecks(records: readonly ClientRecord[]): ClientRecord[] {
  for (const record of records) {
    expect(record.wrong).toEqual([]);
    expect(record.hangs).toBe(0);
  }
  return [...records.slice(0, AFFECTED_CLIENTS), records[records.length - 1]!];
}

/** Returns the state letter of process `pid` from /proc (Linux): `T` once a SIGSTOP took effect. */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in brackets may contain spaces; the state follows it.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/** Polls ROLE on `node` until it is a primary; resolves with the time (Date.now()) it first was. */
async function waitForPromotion(node: RedisServer, timeoutMs: number): Promise<number> {
  let promotedAt = 0;
  await waitFor(async () => {
    const role = (await queryNode(node.port, cluster.password, ['ROLE'])) as string[];
    if (role[0] === 'master') promotedAt = Date.now();
    return promotedAt > 0;
  }, 'the replica promotion', timeoutMs);
  return promotedAt;
}

/** Returns the time of the first write that each affected client got accepted with a send time of `since` or later. */
function firstWritesSince(records: readonly ClientRecord[], since: number): (number | undefined)[] {
  return records.map((record) => record.writes.find((write) => write.sentAt >= since)?.repliedAt);
}

describe('cluster failover', () => {
  it('follows CLUSTER FAILOVER under load', async () => {
    const primary = cluster.nodes[0]!;
    const replica = cluster.nodes[3]!;
    const tags = await tagsOn(0, AFFECTED_CLIENTS);
    const [otherTag] = await tagsOn(1, 1);
    const load = await startLoad(tags, otherTag!);

    const startedAt = Date.now();
    expect(await queryNode(replica.port, cluster.password, ['CLUSTER', 'FAILOVER'])).toBe('OK');
    // Once the old primary reports itself a replica, every write sent later ran on the new one.
    await waitFor(async () => ((await queryNode(primary.port, cluster.password, ['ROLE'])) as string[])[0] === 'slave', 'the old primary to become a replica');
    const switchedAt = Date.now();
    await waitFor(() => firstWritesSince(load.records, switchedAt).every((time) => time !== undefined), 'a write of every client on the new primary');
    const records = await load.stop();

    const affected = affectedAfterChecks(records);
    const recoveryMs = Math.min(...(firstWritesSince(affected, switchedAt) as number[])) - startedAt;
    console.info(`[figures] cluster failover: ${JSON.stringify({ switchMs: switchedAt - startedAt, recoveryMs, errors: records.map((record) => record.errors) })}`);

    const slot = keySlot(Buffer.from(tags[0]!));
    const newPrimary = `127.0.0.1:${replica.port}`;
    await waitFor(() => server.context.cluster!.poolForSlot(slot).address === newPrimary, 'the slot map to name the new primary');
    await waitFor(async () => (await metricValue('respguard_upstream_failovers_total', '{mode="cluster"}')) >= 1, 'the failover count');
    expect(await metricValue('respguard_upstream_failovers_total', '{mode="cluster"}')).toBe(1);
    const line = logs.lines.find((entry) => entry.msg === 'cluster slot range moved to a promoted replica');
    expect(line).toMatchObject({ from: `127.0.0.1:${primary.port}`, to: newPrimary, failover: true });
    // The old primary serves no slots now, so its pool closes.
    await waitFor(() => !server.context.cluster!.nodeConnections().has(`127.0.0.1:${primary.port}`), 'the old primary pool to close');
  }, 40_000);

  it('follows a killed primary under load', async () => {
    // After the previous test, node 3 is the primary and node 0 its replica.
    const primary = cluster.nodes[3]!;
    const replica = cluster.nodes[0]!;
    await waitFor(async () => String(await queryNode(replica.port, cluster.password, ['INFO', 'replication'])).includes('master_link_status:up'), 'the replica link');
    const tags = await tagsOn(3, AFFECTED_CLIENTS);
    const [otherTag] = await tagsOn(1, 1);
    const load = await startLoad(tags, otherTag!);

    const killedAt = Date.now();
    const exited = new Promise((resolve) => primary.process.once('exit', resolve));
    primary.process.kill('SIGKILL');
    // Writes sent before the process is gone may still have run on it.
    await exited;
    const diedAt = Date.now();
    // Until the cluster promotes the replica, /readyz names the primary that lost its connections.
    await waitFor(() => !server.isReady(), 'the killed primary to make respguard not ready');
    expect(server.readiness()).toEqual({ ready: false, reason: `1 of 3 cluster primaries has no ready connection: 127.0.0.1:${primary.port}` });
    // The replica's promotion time separates the cluster's failover from the time respguard takes to follow it.
    const promotion = waitForPromotion(replica, 20_000);
    await waitFor(() => firstWritesSince(load.records, diedAt).every((time) => time !== undefined), 'a write of every client after the kill', 20_000);
    const promotedAt = await promotion;
    const records = await load.stop();

    const affected = affectedAfterChecks(records);
    const firstWrites = firstWritesSince(affected, diedAt) as number[];
    const recoveryMs = Math.min(...firstWrites) - killedAt;
    const allRecoveredMs = Math.max(...firstWrites) - killedAt;
    const figures = { exitedMs: diedAt - killedAt, promotedMs: promotedAt - killedAt, recoveryMs, allRecoveredMs, errors: records.map((record) => record.errors) };
    console.info(`[figures] cluster primary killed: ${JSON.stringify(figures)}`);

    const slot = keySlot(Buffer.from(tags[0]!));
    await waitFor(() => server.context.cluster!.poolForSlot(slot).address === `127.0.0.1:${replica.port}`, 'the slot map to name the promoted replica');
    await waitFor(async () => (await metricValue('respguard_upstream_failovers_total', '{mode="cluster"}')) >= 2, 'the failover count');
    expect(await metricValue('respguard_upstream_failovers_total', '{mode="cluster"}')).toBe(2);
    await waitFor(() => !server.context.cluster!.nodeConnections().has(`127.0.0.1:${primary.port}`), 'the killed primary pool to close');
    expect(server.isReady()).toBe(true);
  }, 40_000);

  it('follows a stalled primary under load', async () => {
    // The tests above fail over the first primary only, so nodes 1 and 4 keep their roles.
    const primary = cluster.nodes[1]!;
    const replica = cluster.nodes[4]!;
    const oldPrimary = `127.0.0.1:${primary.port}`;
    await waitFor(async () => String(await queryNode(replica.port, cluster.password, ['INFO', 'replication'])).includes('master_link_status:up'), 'the replica link');
    const failoversBefore = await metricValue('respguard_upstream_failovers_total', '{mode="cluster"}');
    const tags = await tagsOn(1, AFFECTED_CLIENTS);
    const [otherTag] = await tagsOn(2, 1);
    // A client blocked on the primary holds a pinned connection to it.
    const blocked = await RawClient.connect(port);
    expect(await blocked.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    blocked.send(['BLPOP', `{${tags[0]}}list`, '0']);
    await waitFor(async () => String(await queryNode(primary.port, cluster.password, ['INFO', 'clients'])).includes('blocked_clients:1'), 'the BLPOP to block');
    const load = await startLoad(tags, otherTag!);

    const stopSentAt = Date.now();
    stoppedNode = primary;
    primary.process.kill('SIGSTOP');
    // Writes sent once the process is stopped can only succeed on the promoted replica.
    await waitFor(() => processState(primary.process.pid!) === 'T', 'the primary to stop', 2000);
    const stoppedAt = Date.now();
    const promotion = waitForPromotion(replica, 15_000);
    await waitFor(() => firstWritesSince(load.records, stoppedAt).every((time) => time !== undefined), 'a write of every client after the stop', 15_000);
    const promotedAt = await promotion;

    // Continued, the old primary learns of the newer config epoch and turns into a replica of the
    // promoted one, while the clients keep writing.
    primary.process.kill('SIGCONT');
    stoppedNode = null;
    const continuedAt = Date.now();
    await waitFor(async () => ((await queryNode(primary.port, cluster.password, ['ROLE'])) as string[])[0] === 'slave', 'the old primary to rejoin as a replica', 10_000);
    const rejoinedAt = Date.now();
    await waitFor(() => firstWritesSince(load.records, rejoinedAt).every((time) => time !== undefined), 'a write of every client after the rejoin', 5000);
    const records = await load.stop();

    const affected = affectedAfterChecks(records);
    const firstWrites = firstWritesSince(affected, stoppedAt) as number[];
    const recoveryMs = Math.min(...firstWrites) - stopSentAt;
    const figures = {
      promotedMs: promotedAt - stopSentAt,
      recoveryMs,
      allRecoveredMs: Math.max(...firstWrites) - stopSentAt,
      afterPromotionMs: Math.min(...firstWrites) - promotedAt,
      slowestReplyMs: Math.max(...affected.map((record) => record.slowestMs)),
      rejoinedMs: rejoinedAt - continuedAt,
      errors: records.map((record) => record.errors),
    };
    console.info(`[figures] cluster primary stalled: ${JSON.stringify(figures)}`);

    // The requests in flight on the stopped node were failed once the cluster flagged it, not at its retirement.
    const dropped = logs.lines.find((entry) => entry.msg === 'the cluster flagged a node as failed; closed its connections and failed its requests in flight' && entry.node === oldPrimary);
    expect(dropped).toMatchObject({ event: 'cluster_topology', node: oldPrimary });
    // The blocked client got the error when its pinned connection closed, and its next command
    // runs on the promoted replica.
    expect(await blocked.reply(0)).toBe(CONNECTION_LOST_REPLY.toString());
    expect(await blocked.call(['RPUSH', `{${tags[0]}}list`, 'after'])).toBe(':1\r\n');
    blocked.close();
    const slot = keySlot(Buffer.from(tags[0]!));
    expect(server.context.cluster!.poolForSlot(slot).address).toBe(`127.0.0.1:${replica.port}`);
    await waitFor(async () => (await metricValue('respguard_upstream_failovers_total', '{mode="cluster"}')) >= failoversBefore + 1, 'the failover count');
    expect(await metricValue('respguard_upstream_failovers_total', '{mode="cluster"}')).toBe(failoversBefore + 1);
    await waitFor(() => !server.context.cluster!.nodeConnections().has(oldPrimary), 'the stalled primary pool to close');
    expect(server.isReady()).toBe(true);
  }, 40_000);

  it('reads the topology elsewhere when a read stalls', async () => {
    // The periodic topology read goes to the first primary by slot, node 0, unless a request
    // waits on it. With no load, a read sent to it after the stop gets no reply.
    const primary = cluster.nodes[0]!;
    const address = `127.0.0.1:${primary.port}`;
    expect(server.context.cluster!.primaryPools()[0]!.address).toBe(address);
    const timedOut = (): boolean =>
      logs.lines.some((entry) => String(entry.msg).startsWith('no reply to CLUSTER NODES within 2000 ms') && entry.node === address);
    expect(timedOut()).toBe(false);
    const [tag] = await tagsOn(0, 1);

    stoppedNode = primary;
    primary.process.kill('SIGSTOP');
    await waitFor(() => processState(primary.process.pid!) === 'T', 'the primary to stop', 2000);
    await waitFor(timedOut, 'a topology read from the stopped node to time out', 5000);
    const readsBefore = server.context.cluster!.refreshes.ok;
    await waitFor(() => server.context.cluster!.refreshes.ok > readsBefore, 'a topology read from another node', 2000);
    primary.process.kill('SIGCONT');
    stoppedNode = null;

    // After the second test node 0 has no replica, so it keeps its slots and serves them again once
    // the cluster clears its fail flag. When this test runs alone, node 3 takes them over instead.
    const connection = await RawClient.connect(port);
    expect(await connection.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    let reply = '';
    await waitFor(async () => {
      reply = await connection.call(['SET', `{${tag}}after-stall`, 'written']);
      return reply === '+OK\r\n';
    }, 'a write to the slots of the stopped node', 15_000);
    expect(reply).toBe('+OK\r\n');
    expect(await connection.call(['GET', `{${tag}}after-stall`])).toBe('$7\r\nwritten\r\n');
    connection.close();
    await waitFor(() => server.isReady(), 'every primary pool to be ready', 10_000);
  }, 40_000);
});
