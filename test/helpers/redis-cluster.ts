/**
 * Starts a private Redis Cluster for tests: N primaries without replicas on free loopback
 * ports, each with requirepass and masterauth, joined with `redis-cli --cluster create` and
 * ready once every node reports cluster_state:ok. Stopped by PID when the test is done.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RedisQuery } from './redis-query.js';
import { startRedis, type RedisServer } from './redis-server.js';

const run = promisify(execFile);

export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  readonly password: string;
  /** Seed addresses as `127.0.0.1:PORT`, in start order. */
  readonly addresses: readonly string[];
  stop(): Promise<void>;
}

/** Starts `primaries` cluster nodes (at least 3, as redis-cli requires) and joins them into one cluster. */
export async function startRedisCluster(primaries = 3, password = 'upstream-secret'): Promise<RedisCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'respguard-cluster-'));
  const nodes: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries; i++) {
      const configFile = path.join(dir, `nodes-${i}.conf`);
      nodes.push(await startRedis({ password, args: ['--cluster-enabled', 'yes', '--cluster-config-file', configFile, '--masterauth', password] }));
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run('redis-cli', ['-a', password, '--no-auth-warning', '--cluster', 'create', ...addresses, '--cluster-yes'], { timeout: 30_000 });
    await waitForClusterOk(nodes, password);
    return { nodes, password, addresses, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits until every node reports cluster_state:ok, so that no test gets a CLUSTERDOWN error. */
async function waitForClusterOk(nodes: readonly RedisServer[], password: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const node of nodes) {
    const query = await RedisQuery.connect(node.port);
    try {
      await query.call(['AUTH', password]);
      for (;;) {
        const info = await query.call(['CLUSTER', 'INFO']);
        if (typeof info === 'string' && info.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${node.port} is not in cluster_state:ok after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      query.close();
    }
  }
}
