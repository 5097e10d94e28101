/**
 * Starts a private Redis Cluster for tests: N primaries, each with `replicas` replicas, on free
 * loopback ports, with requirepass and masterauth, joined with `redis-cli --cluster create`.
 * The cluster is ready once every node reports cluster_state:ok and every replica's link to its
 * primary is up. Nodes are stopped by PID when the test is done.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RedisQuery, type Reply } from './redis-query.js';
import { startRedis, type RedisServer } from './redis-server.js';

const run = promisify(execFile);

export interface RedisCluster {
  /**
   * Primaries first, in the order of their first slot, then the replicas: with one replica
   * each, `nodes[primaries + i]` replicates `nodes[i]` (as created; failovers change roles).
   */
  readonly nodes: readonly RedisServer[];
  readonly password: string;
  /** Addresses of `nodes` as `127.0.0.1:PORT`, in the same order. */
  readonly addresses: readonly string[];
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Primaries, at least 3 as redis-cli requires; default 3. */
  readonly primaries?: number;
  /** Replicas per primary; default 0. */
  readonly replicas?: number;
  readonly password?: string;
  /** `cluster-node-timeout` in milliseconds: how long a node may stay silent before it counts as failing; default 1000. */
  readonly nodeTimeoutMs?: number;
}

/** Starts the nodes and joins them into one cluster. */
export async function startRedisCluster(options: ClusterOptions = {}): Promise<RedisCluster> {
  const primaries = options.primaries ?? 3;
  const replicas = options.replicas ?? 0;
  const password = options.password ?? 'upstream-secret';
  const dir = mkdtempSync(path.join(tmpdir(), 'respguard-cluster-'));
  const started: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((node) => node.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries * (1 + replicas); i++) {
      const configFile = path.join(dir, `nodes-${i}.conf`);
      const args = ['--cluster-enabled', 'yes', '--cluster-config-file', configFile, '--masterauth', password];
      args.push('--cluster-node-timeout', String(options.nodeTimeoutMs ?? 1000));
      // A replica's first sync would otherwise wait 5 s for more replicas, and CLUSTER SLOTS
      // (7.0) lists a replica only once its offset moved, which the primary's ping does, by
      // default every 10 s.
      args.push('--repl-diskless-sync-delay', '0', '--repl-ping-replica-period', '1');
      started.push(await startRedis({ password, args }));
    }
    const created = started.map((node) => `127.0.0.1:${node.port}`);
    const create = ['-a', password, '--no-auth-warning', '--cluster', 'create', ...created, '--cluster-replicas', String(replicas), '--cluster-yes'];
    await run('redis-cli', create, { timeout: 30_000 });
    await waitForClusterOk(started, password);
    const nodes = await orderByRole(started, password);
    if (replicas > 0) await waitForReplicaLinks(nodes.slice(primaries), password);
    return { nodes, password, addresses: nodes.map((node) => `127.0.0.1:${node.port}`), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs one command on a node, authenticated, on a connection of its own. */
export async function queryNode(port: number, password: string, args: readonly string[]): Promise<Reply> {
  const query = await RedisQuery.connect(port);
  try {
    await query.call(['AUTH', password]);
    return await query.call([...args]);
  } finally {
    query.close();
  }
}

/**
 * Sorts the nodes: primaries by their first slot, then each primary's replicas in the same
 * order. Waits until CLUSTER SLOTS lists every node, because replicas join after the slots are
 * assigned.
 */
async function orderByRole(nodes: readonly RedisServer[], password: string, timeoutMs = 20_000): Promise<RedisServer[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ordered = await readRoles(nodes, password);
    if (ordered.length === nodes.length) return ordered;
    if (Date.now() > deadline) throw new Error(`CLUSTER SLOTS lists ${ordered.length} of ${nodes.length} nodes after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function readRoles(nodes: readonly RedisServer[], password: string): Promise<RedisServer[]> {
  const ranges = (await queryNode(nodes[0]!.port, password, ['CLUSTER', 'SLOTS'])) as Reply[][];
  ranges.sort((a, b) => (a[0] as number) - (b[0] as number));
  const byPort = new Map(nodes.map((node) => [node.port, node]));
  const primaries: RedisServer[] = [];
  const replicas: RedisServer[] = [];
  for (const range of ranges) {
    const primary = byPort.get((range[2] as Reply[])[1] as number)!;
    if (primaries.includes(primary)) continue;
    primaries.push(primary);
    for (const replica of range.slice(3) as Reply[][]) replicas.push(byPort.get(replica[1] as number)!);
  }
  return [...primaries, ...replicas];
}

/** Polls each node with `check` until it returns true, or throws after `timeoutMs`. */
async function waitForEach(nodes: readonly RedisServer[], password: string, what: string, check: (query: RedisQuery) => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const node of nodes) {
    const query = await RedisQuery.connect(node.port);
    try {
      await query.call(['AUTH', password]);
      while (!(await check(query))) {
        if (Date.now() > deadline) throw new Error(`cluster node ${node.port}: ${what} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      query.close();
    }
  }
}

/** Waits until every node reports cluster_state:ok, so that no test gets a CLUSTERDOWN error. */
async function waitForClusterOk(nodes: readonly RedisServer[], password: string): Promise<void> {
  await waitForEach(nodes, password, 'not in cluster_state:ok', async (query) => {
    const info = await query.call(['CLUSTER', 'INFO']);
    return typeof info === 'string' && info.includes('cluster_state:ok');
  });
}

/** Waits until each replica reports master_link_status:up, which CLUSTER FAILOVER needs. */
async function waitForReplicaLinks(replicas: readonly RedisServer[], password: string): Promise<void> {
  await waitForEach(replicas, password, 'replica link not up', async (query) => {
    const info = await query.call(['INFO', 'replication']);
    return typeof info === 'string' && info.includes('master_link_status:up');
  });
}
