/**
 * respguard in cluster mode in front of a Redis server with cluster support disabled: the
 * mistake is logged once as an error that names the fix, not as a warning on every read, and
 * `/readyz` gives it as the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startMetricsServer, type MetricsServer } from '../../src/observability/http.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { captureLogs, type LogCapture } from '../helpers/proxy.js';
import { freePort, startRedis, type RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
let server: RunningServer;
let logs: LogCapture;
let http: MetricsServer;

beforeAll(async () => {
  redis = await startRedis({ password: 'not-cluster-pass' });
  const port = await freePort();
  const yaml =
    `listeners:\n  - { host: 127.0.0.1, port: ${port} }\n` +
    `upstream:\n  mode: cluster\n  nodes: ["127.0.0.1:${redis.port}"]\n  password: not-cluster-pass\n  pool: { size: 1 }\n` +
    'users:\n  app: { acl: "on >app-pass ~* +@all" }\n';
  const captured = captureLogs();
  logs = captured.capture;
  const logger = createLogger('debug', captured.stream);
  server = await startServer(parseConfig(yaml, 'not-cluster.yaml', {}), { logger });
  const source = { contentType: 'text/plain', metrics: async () => '', readiness: async () => server.readiness() };
  http = await startMetricsServer({ host: '127.0.0.1', port: 0 }, source, logger);
}, 20_000);

afterAll(async () => {
  await http?.close();
  await server?.close(1000);
  await redis?.stop();
});

describe('cluster mode against a standalone Redis', () => {
  it('logs one error with the fix', async () => {
    const cluster = server.context.cluster!;
    // The map is unknown, so the topology is read every 100 ms; wait for several failed reads.
    const deadline = Date.now() + 5000;
    while (cluster.refreshes.failed < 5 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(cluster.refreshes.failed).toBeGreaterThanOrEqual(5);
    expect(cluster.refreshes.ok).toBe(0);

    const topology = logs.lines
      .filter((line) => line.event === 'cluster_topology')
      .map((line) => ({ level: line.level, event: line.event, node: line.node, error: line.error, msg: line.msg }));
    expect(topology).toEqual([
      {
        level: 50,
        event: 'cluster_topology',
        node: `127.0.0.1:${redis.port}`,
        error: 'ERR This instance has cluster support disabled',
        msg:
          `the upstream 127.0.0.1:${redis.port} is not a Redis Cluster node (CLUSTER NODES failed: ERR This instance has cluster support disabled), ` +
          'so respguard has no slot map and is not ready. Set upstream.mode: standalone, or upstream.mode: sentinel with a sentinel section, to match the Redis server',
      },
    ]);
    expect(server.isReady()).toBe(false);
  });

  it('gives the reason in /readyz', async () => {
    const response = await fetch(`http://127.0.0.1:${http.address.port}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe(
      `not ready: the upstream 127.0.0.1:${redis.port} is not a Redis Cluster node (ERR This instance has cluster support disabled)\n`,
    );
  });
});

describe('cluster mode without a reachable seed', () => {
  it('gives the unknown slot map as the reason', async () => {
    const port = await freePort();
    const down = await freePort();
    const yaml =
      `listeners:\n  - { host: 127.0.0.1, port: ${port} }\n` +
      `upstream:\n  mode: cluster\n  nodes: ["127.0.0.1:${down}"]\n  pool: { size: 1 }\n` +
      'users:\n  app: { acl: "on >app-pass ~* +@all" }\n';
    const unreachable = await startServer(parseConfig(yaml, 'down.yaml', {}), { logger: createLogger('debug', captureLogs().stream) });
    try {
      expect(unreachable.readiness()).toEqual({ ready: false, reason: 'the cluster slot map is not known yet' });
    } finally {
      await unreachable.close(1000);
    }
  });
});
