/**
 * The pool of shared upstream connections: `size` connections per protocol version, so that
 * RESP2 and RESP3 clients each get replies in their own format. Sessions pick a connection per
 * request with `pick` and stay on it while they have requests in flight, which keeps each
 * client's commands in order on the upstream.
 *
 * A broken connection is replaced after a backoff (100 ms doubling up to 5 s, with jitter);
 * while no connection of a protocol is usable, `pick` returns null at once so that clients get
 * an error reply instead of waiting.
 *
 * In sentinel mode the pool's address changes when the primary does (`retarget`): the old
 * connections drain, pinned ones close, and new ones open at once. While no address is known,
 * `pick` returns null and `lastError` gives the reason.
 */
import { EventEmitter } from 'node:events';
import type { UpstreamConfig, LimitsConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { UpstreamConnection, type ConnectionOptions, type ServerFacts } from './connection.js';
import { PinnedPool } from './pinned-pool.js';

const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 5000;
/** Maximum wait for a retired pool's requests in flight before its connections close anyway. */
const RETIRE_TIMEOUT_MS = 30_000;
const RETIRE_CHECK_MS = 50;
/** Requests in flight on a connection before `pick` looks at the next one. */
const FILL_BEFORE_SPREADING = 128;
/** Time that requests already sent to an upstream left behind by `retarget` get for their replies. */
const DRAIN_TIMEOUT_MS = 2000;

/** The address that a pool connects to. */
export interface UpstreamAddress {
  readonly host: string;
  readonly port: number;
}

interface Member {
  connection: UpstreamConnection | null;
  failures: number;
  timer: NodeJS.Timeout | null;
}

export interface PoolStats {
  readonly connections: number;
  readonly ready: number;
  readonly pending: number;
  readonly reconnects: number;
}

/**
 * Events: 'ready' (ServerFacts) each time a connection finished its init; 'first-ready'
 * (UpstreamConnection) when a RESP2 connection became ready while no other was, at start and
 * after an outage, so that the owner can read the command table from it again;
 * 'connection-lost' (reason) when a shared connection closed; 'readonly' when a shared
 * connection got a READONLY reply (its upstream is a replica now).
 */
export class UpstreamPool extends EventEmitter {
  private readonly groups: Record<2 | 3, Member[]>;
  /** The upstream the connections go to; null while it is unknown (sentinel mode). */
  private target: UpstreamAddress | null;
  private started = false;
  private closed = false;
  private reconnects = 0;
  lastError = '';
  facts: ServerFacts | null = null;
  /** Connections of their own for sessions with connection state. */
  readonly pinned: PinnedPool;

  /** `target` defaults to `config.host` and `config.port`; null starts the pool without an upstream. */
  constructor(
    private readonly config: UpstreamConfig,
    private readonly limits: LimitsConfig,
    private readonly logger: Logger,
    target: UpstreamAddress | null = { host: config.host, port: config.port },
  ) {
    super();
    this.target = target;
    const group = (): Member[] =>
      Array.from({ length: config.pool.size }, () => ({ connection: null, failures: 0, timer: null }));
    this.groups = { 2: group(), 3: group() };
    this.pinned = new PinnedPool((protocol, name) => this.connectionOptions(protocol, name), config.pool.maxPinned, logger);
  }

  /** Options of a new connection to the current target, or null while there is none. */
  private connectionOptions(protocol: 2 | 3, clientName: string): ConnectionOptions | null {
    if (!this.target) return null;
    return {
      host: this.target.host,
      port: this.target.port,
      username: this.config.username,
      password: this.config.password,
      protocol,
      connectTimeoutMs: this.config.connectTimeoutMs,
      maxReplyDepth: this.limits.maxReplyDepth,
      maxBulkLength: this.limits.maxBulkLength,
      clientName,
      ...(this.config.tls ? { tls: this.config.tls } : {}),
    };
  }

  private stallTimer: NodeJS.Timeout | null = null;

  start(): void {
    this.started = true;
    for (const protocol of [2, 3] as const) {
      this.groups[protocol].forEach((member, index) => this.open(member, protocol, index));
    }
    if (this.config.commandTimeoutMs > 0) {
      // One coarse timer for the whole pool: a stall is found within about a quarter of the limit.
      const interval = Math.max(50, Math.min(1000, this.config.commandTimeoutMs / 4));
      this.stallTimer = setInterval(() => this.closeStalled(), interval);
      this.stallTimer.unref();
    }
  }

  /** Closes connections whose oldest request waited longer than commandTimeoutMs; their clients get an error reply. */
  private closeStalled(): void {
    const limit = BigInt(this.config.commandTimeoutMs) * 1_000_000n;
    const now = process.hrtime.bigint();
    for (const protocol of [2, 3] as const) {
      for (const member of this.groups[protocol]) {
        const since = member.connection?.oldestPendingSince() ?? 0n;
        if (since !== 0n && now - since > limit) {
          member.connection!.destroy(`no reply within commandTimeoutMs (${this.config.commandTimeoutMs} ms)`);
        }
      }
    }
  }

  private open(member: Member, protocol: 2 | 3, index: number): void {
    member.timer = null;
    const options = this.closed ? null : this.connectionOptions(protocol, `respguard-pool-resp${protocol}-${index}`);
    if (!options) return;
    const connection = new UpstreamConnection(options, this.logger);
    member.connection = connection;
    connection.on('readonly', () => this.emit('readonly'));
    connection.once('ready', (facts: ServerFacts) => {
      // A connection left behind by `retarget` belongs to no member any more.
      if (member.connection !== connection) return;
      const othersReady = this.groups[protocol].some((m) => m !== member && m.connection?.state === 'ready');
      const fields = { upstream: this.address, protocol, index, version: facts.version };
      if (member.failures > 0) this.logger.info(fields, 'upstream connection restored');
      else if (!othersReady) this.logger.info(fields, 'upstream connected');
      else this.logger.debug(fields, 'upstream connection ready');
      member.failures = 0;
      this.facts = facts;
      this.emit('ready', facts);
      if (protocol === 2 && !othersReady) this.emit('first-ready', connection);
    });
    connection.once('close', (reason: string) => {
      if (member.connection !== connection) return;
      member.connection = null;
      if (this.closed) return;
      this.lastError = reason;
      this.emit('connection-lost', reason);
      member.failures += 1;
      this.reconnects += 1;
      const delay = backoffDelay(member.failures);
      // One line per outage, not one per retry: log the first failure and then every tenth.
      if (member.failures === 1 || member.failures % 10 === 0) {
        this.logger.warn(
          { upstream: this.address, protocol, index, reason, failures: member.failures, retryInMs: delay },
          'upstream connection failed; reconnecting',
        );
      }
      member.timer = setTimeout(() => this.open(member, protocol, index), delay);
    });
  }

  /**
   * Points the pool at another upstream, or at none. Shared connections to the old one take no
   * new requests and close once their requests in flight got replies (within DRAIN_TIMEOUT_MS).
   * Pinned connections close at once, which disconnects their sessions, and new connections
   * open at once. While the target is null, `pick` returns null and `lastError` is `reason`.
   */
  retarget(target: UpstreamAddress | null, reason: string): void {
    this.target = target;
    this.lastError = target ? '' : reason;
    this.pinned.closeAll(reason);
    for (const protocol of [2, 3] as const) {
      this.groups[protocol].forEach((member, index) => {
        if (member.timer) clearTimeout(member.timer);
        member.timer = null;
        member.failures = 0;
        const old = member.connection;
        member.connection = null;
        old?.retire(reason, DRAIN_TIMEOUT_MS);
        if (this.started) this.open(member, protocol, index);
      });
    }
  }

  /** True when `connection` goes to this pool's upstream address (shared or pinned). */
  owns(connection: UpstreamConnection): boolean {
    const target = this.target;
    return target !== null && connection.options.port === target.port && connection.options.host === target.host;
  }

  /** `host:port` of the upstream, or 'none' while it is unknown. */
  get address(): string {
    return this.target ? `${this.target.host}:${this.target.port}` : 'none';
  }

  /** False while the pool has no upstream to connect to (sentinel mode, no primary known). */
  get hasTarget(): boolean {
    return this.target !== null;
  }

  /**
   * Picks a connection for a request of the given protocol: the first ready one with fewer than
   * FILL_BEFORE_SPREADING requests in flight, else the ready one with the fewest, else one still
   * connecting (its requests wait behind the init), else null.
   */
  pick(protocol: 2 | 3): UpstreamConnection | null {
    let best: UpstreamConnection | null = null;
    let connecting: UpstreamConnection | null = null;
    for (const member of this.groups[protocol]) {
      const connection = member.connection;
      if (!connection) continue;
      if (connection.state === 'ready') {
        // Fill the first connection before spreading: Redis spends less CPU per request when
        // many requests arrive on one connection (measured in bench/RESULTS.md).
        if (connection.pendingCount < FILL_BEFORE_SPREADING) return connection;
        if (!best || connection.pendingCount < best.pendingCount) best = connection;
      } else if (connection.state === 'connecting' && member.failures === 0) {
        connecting ??= connection;
      }
    }
    return best ?? connecting;
  }

  /** Send time (process.hrtime.bigint) of the oldest request in flight on a shared connection, or 0n when none is. */
  oldestPendingSince(): bigint {
    let oldest = 0n;
    for (const protocol of [2, 3] as const) {
      for (const member of this.groups[protocol]) {
        const since = member.connection?.oldestPendingSince() ?? 0n;
        if (since !== 0n && (oldest === 0n || since < oldest)) oldest = since;
      }
    }
    return oldest;
  }

  /**
   * Closes every connection to the node at once, shared and pinned, so that their requests in
   * flight get the connection-lost error reply instead of waiting for a node that does not
   * reply. A pool that is not retired reconnects after the usual backoff. Returns the number
   * of requests that were in flight.
   */
  dropConnections(reason: string): number {
    let failed = 0;
    for (const protocol of [2, 3] as const) {
      for (const member of this.groups[protocol]) {
        const connection = member.connection;
        if (!connection) continue;
        failed += connection.pendingCount;
        connection.destroy(reason);
      }
    }
    return failed + this.pinned.closeAll(reason);
  }

  /** True when at least one connection of each protocol is ready. */
  get isReady(): boolean {
    return this.hasReady(2) && this.hasReady(3);
  }

  /** True when a shared connection of `protocol` is ready. */
  hasReady(protocol: 2 | 3): boolean {
    return this.groups[protocol].some((m) => m.connection?.state === 'ready');
  }

  /** Returns the connections of this pool open or opening, shared and pinned. */
  openConnections(): number {
    const pinned = this.pinned.stats();
    return this.stats().connections + pinned.active + pinned.idle;
  }

  stats(): PoolStats {
    let connections = 0;
    let ready = 0;
    let pending = 0;
    for (const protocol of [2, 3] as const) {
      for (const member of this.groups[protocol]) {
        if (!member.connection) continue;
        connections += 1;
        if (member.connection.state === 'ready') ready += 1;
        pending += member.connection.pendingCount;
      }
    }
    return { connections, ready, pending, reconnects: this.reconnects };
  }

  /**
   * Stops using this pool's node: no reconnects, idle pinned connections close, and each shared
   * connection closes once its requests in flight got their replies, or after
   * RETIRE_TIMEOUT_MS at the latest. Pinned connections in use close when their session releases them.
   */
  retire(): void {
    this.closed = true;
    this.pinned.close();
    const deadline = Date.now() + RETIRE_TIMEOUT_MS;
    const members = [...this.groups[2], ...this.groups[3]];
    for (const member of members) {
      if (member.timer) clearTimeout(member.timer);
      member.timer = null;
    }
    const closeIdle = (): boolean => {
      let open = 0;
      for (const member of members) {
        const connection = member.connection;
        if (!connection || connection.state === 'closed') continue;
        if (connection.pendingCount === 0 || Date.now() > deadline) connection.destroy('the node serves no slots now');
        else open += 1;
      }
      return open === 0;
    };
    if (closeIdle()) {
      if (this.stallTimer) clearInterval(this.stallTimer);
      return;
    }
    const timer = setInterval(() => {
      if (!closeIdle()) return;
      clearInterval(timer);
      if (this.stallTimer) clearInterval(this.stallTimer);
    }, RETIRE_CHECK_MS);
    timer.unref();
  }

  /** Closes the pool, letting requests already sent get their replies first (a replica that left the set). */
  drainAndClose(reason: string): void {
    this.retarget(null, reason);
    this.close();
  }

  /** Closes every connection; pending requests get an error reply. */
  close(): void {
    this.closed = true;
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.pinned.close();
    for (const protocol of [2, 3] as const) {
      for (const member of this.groups[protocol]) {
        if (member.timer) clearTimeout(member.timer);
        member.connection?.destroy('respguard is stopping');
      }
    }
  }
}

/** Exponential backoff with up to 20% jitter, so that many connections do not retry in step. */
export function backoffDelay(failures: number): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** Math.min(failures - 1, 10));
  return Math.round(base * (0.8 + Math.random() * 0.2));
}
