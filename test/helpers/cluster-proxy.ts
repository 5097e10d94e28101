/**
 * Runs respguard in this process in front of a test cluster (see redis-cluster.ts), with the
 * metrics observer watching the cluster pools and the log lines captured.
 */
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetricsObserver, type MetricsObserver } from '../../src/observability/metrics-observer.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { captureLogs, type LogCapture } from './proxy.js';
import type { RedisCluster } from './redis-cluster.js';
import { freePort } from './redis-server.js';

export interface ClusterProxy {
  readonly server: RunningServer;
  readonly observer: MetricsObserver;
  readonly logs: LogCapture;
  readonly port: number;
}

/**
 * Starts respguard in cluster mode with `seeds` as its seed nodes and a pool of 2 connections
 * per protocol and node. `rest` contains the other YAML lines (users, blockCommands). Resolves
 * once `server.isReady()`.
 */
export async function startClusterProxy(cluster: RedisCluster, seeds: readonly string[], rest: string): Promise<ClusterProxy> {
  const port = await freePort();
  const yaml =
    `listeners:\n  - host: 127.0.0.1\n    port: ${port}\n` +
    `upstream:\n  mode: cluster\n  nodes: ${JSON.stringify(seeds)}\n  password: ${cluster.password}\n  pool: { size: 2 }\n` +
    rest;
  const captured = captureLogs();
  const logger = createLogger('debug', captured.stream);
  const observer = createMetricsObserver(logger, { processMetrics: false });
  const server = await startServer(parseConfig(yaml, 'cluster.yaml', {}), { logger, observer });
  observer.watchPool(server.context.cluster!);
  observer.watchCluster(server.context.cluster!);
  const deadline = Date.now() + 10_000;
  while (!server.isReady()) {
    if (Date.now() > deadline) {
      await server.close(0);
      throw new Error('the cluster pools did not become ready within 10 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { server, observer, logs: captured.capture, port };
}

/** Returns the value of one sample, such as `name{node="...",kind="ask"}` with `labels` `{node="...",kind="ask"}`, or 0 when absent. */
export async function metricValue(observer: MetricsObserver, name: string, labels = ''): Promise<number> {
  const line = (await metricLines(observer, name)).find((sample) => sample.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Returns the samples of metric `name` as `name{labels} value` lines. */
export async function metricLines(observer: MetricsObserver, name: string): Promise<string[]> {
  const text = await observer.metrics.registry.getSingleMetricAsString(name);
  return text.split('\n').filter((line) => line.startsWith(name));
}
