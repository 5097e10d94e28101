/**
 * Starts respguard in the test process, from a YAML config as an operator would write it, in
 * front of a real redis-server. Log lines are captured as parsed objects for assertions.
 */
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetricsObserver } from '../../src/observability/metrics-observer.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { freePort, type RedisServer } from './redis-server.js';

export interface LogCapture {
  readonly lines: Record<string, unknown>[];
  /** Every captured line as raw text, to search for strings that must never appear. */
  text(): string;
}

export interface TestProxy {
  readonly port: number;
  readonly server: RunningServer;
  readonly logs: LogCapture;
  /** Reloads the running proxy with new users, as SIGHUP with an edited file would. */
  reloadUsers(users: Record<string, UserEntry>): Promise<void>;
  stop(): Promise<void>;
}

/** A user as its ACL rule string, or as the whole user map (acl, certificates, requireCertificate, sources). */
export type UserEntry = string | { readonly acl: string; readonly [field: string]: unknown };

export interface TestProxyOptions {
  /** Users as name -> ACL rule string or user map. */
  users: Record<string, UserEntry>;
  /** More listeners, as YAML list items indented by two spaces (`  - host: 127.0.0.1\n    port: ...`). */
  listenersYaml?: string;
  /** YAML lines appended at the top level (limits:, blockCommands:, ...). */
  extraYaml?: string;
  poolSize?: number;
  maxPinned?: number;
  /** YAML lines appended inside `upstream:`, indented by two spaces (`  commandTimeoutMs: 500\n`). */
  upstreamYaml?: string;
  /** Record through the metrics observer, as `respguard` runs, instead of the audit-only default. */
  metrics?: boolean;
}

export function captureLogs(): { capture: LogCapture; stream: { write(line: string): void } } {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  return {
    capture: { lines, text: () => raw.join('') },
    stream: {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  };
}

/** Starts respguard on a free port in front of `upstream`; the upstream's password comes from its RedisServer. */
export async function startProxy(upstream: RedisServer, options: TestProxyOptions): Promise<TestProxy> {
  const port = await freePort();
  const configFor = (userRules: Record<string, UserEntry>) => {
    // JSON is valid YAML, so a user map is written as one JSON flow mapping.
    const users = Object.entries(userRules)
      .map(([name, entry]) => (typeof entry === 'string' ? `  ${name}:\n    acl: ${JSON.stringify(entry)}\n` : `  ${name}: ${JSON.stringify(entry)}\n`))
      .join('');
    const yaml =
      `listeners:\n  - host: 127.0.0.1\n    port: ${port}\n` +
      (options.listenersYaml ?? '') +
      `upstream:\n  host: 127.0.0.1\n  port: ${upstream.port}\n` +
      (upstream.password ? `  password: \${UPSTREAM_PASSWORD}\n` : '') +
      `  pool:\n    size: ${options.poolSize ?? 2}\n` +
      (options.maxPinned === undefined ? '' : `    maxPinned: ${options.maxPinned}\n`) +
      (options.upstreamYaml ?? '') +
      `users:\n${users}` +
      (options.extraYaml ?? '');
    return parseConfig(yaml, 'test.yaml', { UPSTREAM_PASSWORD: upstream.password ?? '' });
  };
  const config = configFor(options.users);
  const { capture, stream } = captureLogs();
  const logger = createLogger('debug', stream);
  const observer = options.metrics ? createMetricsObserver(logger, { processMetrics: false, audit: config.audit }) : undefined;
  const server = await startServer(config, { logger, ...(observer ? { observer } : {}) });
  await waitUntilReady(server);
  return {
    port,
    server,
    logs: capture,
    reloadUsers: (users) => server.reload(configFor(users)),
    stop: () => server.close(2000),
  };
}

/** Waits until the pool has a ready connection of each protocol, so tests do not race the start. */
async function waitUntilReady(server: RunningServer, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!server.context.pool.isReady) {
    if (Date.now() > deadline) throw new Error('the upstream pool did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
