/**
 * The observer that respguard runs with: it counts every data path event in the metrics of
 * metrics.ts and writes the audit log of audit.ts. Sessions call it for every command, so the
 * per-command path (commandDone, bytes) only adds to plain numbers in cached objects. Those
 * numbers are copied into the prom-client metrics when the registry is read, not per command.
 */
import type { AuditConfig } from '../config/types.js';
import type { PoolStats } from '../upstream/pool.js';
import type { TopologyStats } from '../upstream/sentinel/sentinel-pool.js';
import { AuditLog, CommandAuditStream, type AuditLogOptions } from './audit.js';
import type { NanosecondHistogram } from './histogram.js';
import type { Logger } from './logger.js';
import { RespguardMetrics } from './metrics.js';
import type { CommandResult, EventSource, ProxyObserver } from './observer.js';

/** The upstream pool as the metrics read it; `pinned` is the pool of connections that sessions hold on their own. */
export interface WatchedPool {
  stats(): PoolStats;
  readonly pinned?: { stats(): { readonly active: number } };
}

/** The cluster upstream as the per-node metrics read it. */
export interface WatchedCluster {
  nodeConnections(): ReadonlyMap<string, number>;
  readonly redirects: ReadonlyMap<string, Readonly<Record<'moved' | 'ask', number>>>;
  readonly refreshes: Readonly<Record<'ok' | 'failed', number>>;
  readonly failovers: number;
}

/** Figures of a sentinel-mode upstream that the metrics read. */
export interface WatchedTopology {
  topologyStats(): TopologyStats;
  nodeConnections(): ReadonlyMap<string, number>;
}

/** Cause of a config reload, for its audit line. */
export type ReloadTrigger = 'SIGHUP' | 'file change';

/** The ProxyObserver of a running respguard, with the metrics and audit parts the CLI drives. */
export interface MetricsObserver extends ProxyObserver {
  readonly metrics: RespguardMetrics;
  /** Reads the state of `pool` into the upstream metrics each time the registry is read. */
  watchPool(pool: WatchedPool): void;
  /** Reads the per-node figures of a cluster upstream into their metrics each time the registry is read. */
  watchCluster(cluster: WatchedCluster): void;
  /** Reads the failovers and topology checks of `source` into their metrics each time the registry is read. */
  watchTopology(source: WatchedTopology, mode: 'sentinel'): void;
  /** Counts a reload by result and writes its audit line; `error` is the reason of a failure. */
  configReloaded(result: 'ok' | 'failed', details: { file: string; trigger: ReloadTrigger; error?: string }): void;
  /** Applies the `audit` section of a newly loaded config to the per-command audit stream. */
  configureAudit(config: AuditConfig | undefined): void;
  /** Writes the pending summaries of rate-limited audit entries; for a stop. */
  flush(): void;
}

export interface MetricsObserverOptions {
  /** The `audit` section of the config; absent: no per-command audit stream. */
  readonly audit?: AuditConfig;
  /** Options of the rate limit of security audit lines. */
  readonly auditLog?: Omit<AuditLogOptions, 'onSuppressed'>;
  /** Adds prom-client's process metrics; default true. */
  readonly processMetrics?: boolean;
}

/** Creates the observer, its metrics registry and its audit log. */
export function createMetricsObserver(logger: Logger, options: MetricsObserverOptions = {}): MetricsObserver {
  return new RecordingObserver(logger, options);
}

/** Per-result counts of one user and command. Property names are the CommandResult values. */
class CommandCounts {
  allowed = 0;
  denied = 0;
  blocked = 0;
  rejected = 0;
  upstream_error = 0;
}

const RESULTS: readonly CommandResult[] = ['allowed', 'denied', 'blocked', 'rejected', 'upstream_error'];

/** TLS reasons used as label values: error codes such as ERR_SSL_WRONG_VERSION_NUMBER or ECONNRESET. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,79}$/;

class RecordingObserver implements MetricsObserver {
  readonly metrics: RespguardMetrics;
  auditsCommands: boolean;
  private readonly logger: Logger;
  private readonly audit: AuditLog;
  private readonly commandAudit: CommandAuditStream;
  /** Counts by user, then by command name. The keys are the policy's and table's own strings. */
  private readonly commandCounts = new Map<string, Map<string, CommandCounts>>();
  private readonly proxyDuration: NanosecondHistogram;
  private readonly upstreamDuration: NanosecondHistogram;
  private bytesIn = 0;
  private bytesOut = 0;

  constructor(logger: Logger, options: MetricsObserverOptions) {
    this.logger = logger;
    this.metrics = new RespguardMetrics({ processMetrics: options.processMetrics });
    const suppressed = this.metrics.counter('respguard_audit_suppressed_total');
    this.audit = new AuditLog(logger, { ...options.auditLog, onSuppressed: (event) => suppressed.inc({ event }) });
    this.commandAudit = new CommandAuditStream(logger, options.audit);
    this.auditsCommands = this.commandAudit.enabled;
    this.proxyDuration = this.metrics.histogram('respguard_proxy_duration_seconds');
    this.upstreamDuration = this.metrics.histogram('respguard_upstream_duration_seconds');
    this.metrics.onCollect('respguard_commands_total', () => this.collectCommands());
    this.metrics.onCollect('respguard_client_bytes_total', () => this.collectBytes());
  }

  // ---- per command ----

  commandDone(user: string, command: string, result: CommandResult, proxyNs: number, upstreamNs: number): void {
    let byCommand = this.commandCounts.get(user);
    if (byCommand === undefined) {
      byCommand = new Map();
      this.commandCounts.set(user, byCommand);
    }
    let counts = byCommand.get(command);
    if (counts === undefined) {
      counts = new CommandCounts();
      byCommand.set(command, counts);
    }
    counts[result] += 1;
    this.proxyDuration.observe(proxyNs);
    if (upstreamNs > 0) this.upstreamDuration.observe(upstreamNs);
  }

  get auditsKeys(): boolean {
    return this.commandAudit.keys;
  }

  commandAudited(source: EventSource, user: string, command: string, result: CommandResult, proxyNs: number, upstreamNs: number, keys?: readonly string[]): void {
    this.commandAudit.record(source, user, command, result, proxyNs, upstreamNs, keys);
  }

  bytes(direction: 'in' | 'out', count: number): void {
    if (direction === 'in') this.bytesIn += count;
    else this.bytesOut += count;
  }

  private collectCommands(): void {
    const counter = this.metrics.counter('respguard_commands_total');
    counter.reset();
    for (const [user, byCommand] of this.commandCounts) {
      for (const [command, counts] of byCommand) {
        for (const result of RESULTS) {
          if (counts[result] > 0) counter.inc({ user, command, result }, counts[result]);
        }
      }
    }
  }

  private collectBytes(): void {
    const counter = this.metrics.counter('respguard_client_bytes_total');
    counter.reset();
    counter.inc({ direction: 'in' }, this.bytesIn);
    counter.inc({ direction: 'out' }, this.bytesOut);
  }

  // ---- connections and security events ----

  clientConnected(listener: string): void {
    this.metrics.gauge('respguard_client_connections').inc({ listener });
    this.metrics.counter('respguard_client_connections_total').inc({ listener });
  }

  clientDisconnected(listener: string): void {
    this.metrics.gauge('respguard_client_connections').dec({ listener });
  }

  authSucceeded(source: EventSource, user: string, via: string): void {
    this.metrics.counter('respguard_authentications_total').inc({ user, result: 'success' });
    this.logger.debug({ ...source, user, via }, 'authenticated');
  }

  authFailed(source: EventSource, user: string | undefined, via: string, reason: string): void {
    this.metrics.counter('respguard_authentications_total').inc({ user: user ?? 'unknown', result: 'failure' });
    this.audit.write({ event: 'auth_failed', ...source, user, via, reason }, 'authentication failed');
  }

  commandDenied(source: EventSource, user: string, command: string, reason: string): void {
    this.audit.write({ event: 'denied', ...source, user, command, reason }, 'command denied by ACL');
  }

  commandBlocked(source: EventSource, user: string, command: string): void {
    this.audit.write({ event: 'blocked', ...source, user, command }, 'command blocked by blockCommands');
  }

  limitDisconnect(source: EventSource | null, reason: string, user: string | undefined): void {
    this.metrics.counter('respguard_limit_disconnects_total').inc({ reason });
    this.audit.write({ event: 'limit', ...source, reason, user }, 'client disconnected at a limit');
  }

  tlsHandshakeFailed(listener: string, remote: string, reason: string): void {
    const label = ERROR_CODE.test(reason) ? reason : 'other';
    this.metrics.counter('respguard_tls_handshake_failures_total').inc({ listener, reason: label });
    this.audit.write({ event: 'tls_handshake_failed', listener, remote, reason }, 'TLS handshake failed');
  }

  // ---- process events ----

  watchPool(pool: WatchedPool): void {
    const metrics = this.metrics;
    metrics.onCollect('respguard_upstream_connections', () => metrics.gauge('respguard_upstream_connections').set(pool.stats().connections));
    metrics.onCollect('respguard_upstream_ready_connections', () => metrics.gauge('respguard_upstream_ready_connections').set(pool.stats().ready));
    metrics.onCollect('respguard_upstream_pending_requests', () => metrics.gauge('respguard_upstream_pending_requests').set(pool.stats().pending));
    metrics.onCollect('respguard_upstream_pinned_connections', () => {
      metrics.gauge('respguard_upstream_pinned_connections').set(pool.pinned?.stats().active ?? 0);
    });
    metrics.onCollect('respguard_upstream_reconnects_total', () => {
      const counter = metrics.counter('respguard_upstream_reconnects_total');
      counter.reset();
      counter.inc(pool.stats().reconnects);
    });
  }

  /** Reads the connections per node of `source` into their gauge each time the registry is read. */
  private watchNodeConnections(source: { nodeConnections(): ReadonlyMap<string, number> }): void {
    const metrics = this.metrics;
    metrics.onCollect('respguard_upstream_node_connections', () => {
      const gauge = metrics.gauge('respguard_upstream_node_connections');
      // Reset, so that a node whose pool closed leaves the output.
      gauge.reset();
      for (const [node, count] of source.nodeConnections()) gauge.set({ node }, count);
    });
  }

  watchCluster(cluster: WatchedCluster): void {
    const metrics = this.metrics;
    this.watchNodeConnections(cluster);
    metrics.onCollect('respguard_upstream_redirects_total', () => {
      const counter = metrics.counter('respguard_upstream_redirects_total');
      counter.reset();
      for (const [node, counts] of cluster.redirects) {
        for (const kind of ['moved', 'ask'] as const) if (counts[kind] > 0) counter.inc({ node, kind }, counts[kind]);
      }
    });
    this.watchTopologyCounters(() => ({ failovers: cluster.failovers, refreshes: cluster.refreshes }), 'cluster');
  }

  watchTopology(source: WatchedTopology, mode: 'sentinel'): void {
    this.watchNodeConnections(source);
    this.watchTopologyCounters(() => source.topologyStats(), mode);
  }

  /** Reads the failovers and topology reads of a cluster or sentinel upstream into their counters each time the registry is read. */
  private watchTopologyCounters(read: () => TopologyStats, mode: 'cluster' | 'sentinel'): void {
    const metrics = this.metrics;
    metrics.onCollect('respguard_upstream_failovers_total', () => {
      const counter = metrics.counter('respguard_upstream_failovers_total');
      counter.reset();
      counter.inc({ mode }, read().failovers);
    });
    metrics.onCollect('respguard_upstream_topology_refreshes_total', () => {
      const counter = metrics.counter('respguard_upstream_topology_refreshes_total');
      const { refreshes } = read();
      counter.reset();
      counter.inc({ result: 'ok' }, refreshes.ok);
      counter.inc({ result: 'failed' }, refreshes.failed);
    });
  }

  configReloaded(result: 'ok' | 'failed', details: { file: string; trigger: ReloadTrigger; error?: string }): void {
    this.metrics.counter('respguard_config_reloads_total').inc({ result });
    if (result === 'ok') this.logger.info({ event: 'reload', result, ...details }, 'config reload applied');
    else this.logger.error({ event: 'reload', result, ...details }, 'config reload failed; the running config stays');
  }

  configureAudit(config: AuditConfig | undefined): void {
    this.commandAudit.configure(config);
    this.auditsCommands = this.commandAudit.enabled;
  }

  flush(): void {
    this.audit.flush();
  }
}
