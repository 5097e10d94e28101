/**
 * Upstream connections pinned to one session each, for state that must not be shared:
 * transactions, subscriptions, blocking commands, another database, tracking, MONITOR.
 *
 * At most `maxPinned` are handed out at once; past that, `acquire` returns null at once and the
 * session answers with an error instead of waiting. A released connection is reset (RESET, then
 * the init HELLO again, so it is logged in as respguard's upstream user) before another session
 * may take it; one that cannot be reset, or that still had requests in flight, is closed.
 *
 * When the upstream changes (a sentinel failover), `closeAll` closes every connection to the
 * old one; sessions see their pinned connection close and disconnect their clients.
 */
import type { Logger } from '../observability/logger.js';
import { UpstreamConnection, type ConnectionOptions } from './connection.js';

/** Idle, reset connections kept for reuse per protocol; more are closed on release. */
const MAX_IDLE_PER_PROTOCOL = 16;

export interface PinnedStats {
  readonly active: number;
  readonly idle: number;
}

export class PinnedPool {
  /** Connections handed out and not yet released. */
  private readonly active = new Set<UpstreamConnection>();
  private readonly idle: Record<2 | 3, UpstreamConnection[]> = { 2: [], 3: [] };
  private closed = false;
  private nextIndex = 0;
  /** Counts `closeAll` calls: a connection handed out before the last one never goes back to `idle`. */
  private generation = 0;
  private readonly generations = new WeakMap<UpstreamConnection, number>();

  /** `options` returns null while the pool has no upstream to connect to. */
  constructor(
    private readonly options: (protocol: 2 | 3, name: string) => ConnectionOptions | null,
    readonly maxPinned: number,
    private readonly logger: Logger,
  ) {}

  /** Returns a connection of the protocol for one session, or null when `maxPinned` are in use or there is no upstream. */
  acquire(protocol: 2 | 3): UpstreamConnection | null {
    if (this.closed || this.active.size >= this.maxPinned) return null;
    const reused = this.idle[protocol].pop();
    if (reused) {
      reused.removeAllListeners('close');
      this.active.add(reused);
      return reused;
    }
    const options = this.options(protocol, `respguard-pinned-${this.nextIndex + 1}`);
    if (!options) return null;
    this.nextIndex += 1;
    const connection = new UpstreamConnection(options, this.logger);
    this.generations.set(connection, this.generation);
    this.active.add(connection);
    return connection;
  }

  /**
   * Takes a connection back. One with requests in flight (a client gone while blocked) is
   * closed, because its pending replies would reach nobody; any other is reset for reuse.
   */
  release(connection: UpstreamConnection): void {
    // A session may give a connection back from two paths (its client left, its last reply came); count it once.
    if (!this.active.delete(connection)) return;
    connection.receiver = null;
    if (this.closed || connection.state !== 'ready' || connection.pendingCount > 0) {
      connection.destroy('released by its session');
      return;
    }
    connection.resetForReuse((ok) => {
      const idle = this.idle[connection.options.protocol];
      const stale = this.generations.get(connection) !== this.generation;
      if (!ok || this.closed || stale || idle.length >= MAX_IDLE_PER_PROTOCOL || connection.state !== 'ready') {
        connection.destroy(ok ? 'not needed for reuse' : 'reset for reuse failed');
        return;
      }
      idle.push(connection);
      connection.once('close', () => {
        const at = idle.indexOf(connection);
        if (at >= 0) idle.splice(at, 1);
      });
    });
  }

  /** True while `connection` is handed out by this pool and not yet released. */
  holds(connection: UpstreamConnection): boolean {
    return this.active.has(connection);
  }

  stats(): PinnedStats {
    return { active: this.active.size, idle: this.idle[2].length + this.idle[3].length };
  }

  /**
   * Closes every connection, idle or in use, because the upstream they go to changed or failed.
   * Each session that held one gets error replies for its requests in flight and is
   * disconnected. Returns the number of requests that were in flight.
   */
  closeAll(reason: string): number {
    this.generation += 1;
    let failed = 0;
    for (const connection of [...this.active, ...this.idle[2].splice(0), ...this.idle[3].splice(0)]) {
      failed += connection.pendingCount;
      connection.destroy(reason);
    }
    return failed;
  }

  close(): void {
    this.closed = true;
    for (const protocol of [2, 3] as const) {
      for (const connection of this.idle[protocol].splice(0)) connection.destroy('respguard is stopping');
    }
  }
}
