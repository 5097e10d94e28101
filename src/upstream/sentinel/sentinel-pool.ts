/**
 * The upstream side of sentinel mode: finds the primary of `upstream.sentinel.masterName`
 * through the sentinels, follows it across failovers, and keeps pools of the replicas for users
 * who read from them. Sessions use `primaryPool` as their one upstream pool. On a switch it is
 * pointed at the new primary (UpstreamPool.retarget), so nothing else changes for sessions.
 *
 * A check asks the sentinels in turn (the one that last answered or announced a switch first)
 * for the primary's address with SENTINEL GET-MASTER-ADDR-BY-NAME, and uses it only once ROLE
 * on that node says `master`. Checks run every CHECK_INTERVAL_MS, and soon after a sentinel
 * announces `+switch-master` or the end of a failover, after a shared connection to the primary
 * closed, and after a READONLY reply.
 *
 * The old primary keeps accepting writes for seconds after a sentinel promoted a replica, and
 * those writes are lost. So when the sentinel leading a failover announces the replica it is
 * about to promote (`+selected-slave`), respguard stops using the primary at once: until the
 * new one is confirmed, requests get an immediate error. It also does not follow a sentinel
 * back to the primary it just left, since sentinels that have not heard of a switch yet still
 * name the old primary, which says `master` until the sentinels reconfigure it.
 */
import type { LimitsConfig, UpstreamConfig } from '../../config/types.js';
import type { Logger } from '../../observability/logger.js';
import type { RespValue } from '../../resp/reply-value.js';
import { UpstreamConnection, type ConnectionOptions } from '../connection.js';
import { UpstreamPool, type PoolStats } from '../pool.js';
import { parseMasterAddress, parseReplicas, parseRole, splitNodeAddress, type ReplicaState, type SentinelEvent } from './replies.js';
import { ask, QUERY_TIMEOUT_MS, SentinelLink } from './sentinel-link.js';

/** Time between two periodic checks. */
const CHECK_INTERVAL_MS = 1000;
/** A burst of triggers (connections failing one after another) gives one check. */
const TRIGGER_DELAY_MS = 50;
/** Maximum wait for a failover that a sentinel announced to end, before the old primary may be used again. */
const FAILOVER_HOLD_MS = 10_000;
/** Time after a switch during which a sentinel that names the old primary is taken as not yet updated. */
const STALE_ANSWER_MS = 10_000;
/**
 * Replica lists in a row without a replica before its pool closes. Right after a switch a
 * sentinel lists the replicas as disconnected for a moment, which alone only stops reads there.
 */
const REPLICA_DROP_AFTER = 5;

/** Counts of the topology work, for the metrics. */
export interface TopologyStats {
  /** Switches from one confirmed primary to another. */
  readonly failovers: number;
  /** Checks by result: ok when a primary was confirmed, failed otherwise. */
  readonly refreshes: { readonly ok: number; readonly failed: number };
}

/** The outcome of asking the sentinels. */
interface Finding {
  /** The confirmed primary, or null. */
  readonly primary: string | null;
  /** True when the primary in use reported another role in its ROLE reply. */
  readonly demoted: boolean;
  /** Reasons why each sentinel's reply was not used. */
  readonly reasons: readonly string[];
}

export class SentinelPool {
  /** The pool of the primary, pointed at each new primary; its target is null while none is in use. */
  readonly primaryPool: UpstreamPool;
  private readonly masterName: string;
  private readonly links: SentinelLink[];
  /** The primary in use, null at start and while a switch is under way. */
  private primary: string | null = null;
  /** The last primary that was in use, kept while `primary` is null, to tell a switch from a return. */
  private previous: string | null = null;
  /** A failover that a sentinel started and that has not ended: its old primary is not used meanwhile. */
  private failover: { readonly from: string; readonly link: SentinelLink; readonly until: number } | null = null;
  /** Primaries switched away from, by respguard or by a sentinel's `+switch-master`, with the time. */
  private readonly left = new Map<string, number>();
  /** Index of the sentinel asked first. */
  private preferred = 0;
  /** Pools of the replicas, with the number of replica lists in a row that did not list them as up. */
  private readonly replicas = new Map<string, { readonly pool: UpstreamPool; missing: number }>();
  /** The pools of the replicas whose link to the primary is up, in a stable order for picking by session. */
  private replicaOrder: UpstreamPool[] = [];
  /** Set by the first replica read: from then on checks also read the replica list. */
  private replicaReadsStarted = false;
  private checkTimer: NodeJS.Timeout | null = null;
  private soonTimer: NodeJS.Timeout | null = null;
  /**
   * Number of the latest check. An older check that finishes later is ignored, and so is one
   * under way when a failover starts or a switch is announced.
   */
  private checkNumber = 0;
  private running = 0;
  private failedInRow = 0;
  private closed = false;
  private failovers = 0;
  private readonly refreshes = { ok: 0, failed: 0 };
  /** Reconnects of replica pools that were closed, so that the reconnect counter never goes down. */
  private droppedReconnects = 0;

  constructor(
    private readonly config: UpstreamConfig,
    private readonly limits: LimitsConfig,
    private readonly logger: Logger,
  ) {
    const sentinel = config.sentinel!;
    this.masterName = sentinel.masterName;
    this.primaryPool = new UpstreamPool(config, limits, logger, null);
    this.primaryPool.lastError = `looking for the primary of ${this.masterName} through the sentinels`;
    this.primaryPool.on('connection-lost', () => this.checkSoon());
    this.primaryPool.on('readonly', () => this.checkSoon());
    this.links = sentinel.nodes.map((address) => {
      const { host, port } = splitNodeAddress(address);
      const options: ConnectionOptions = {
        host,
        port,
        username: sentinel.username,
        password: sentinel.password,
        protocol: 3,
        connectTimeoutMs: config.connectTimeoutMs,
        maxReplyDepth: limits.maxReplyDepth,
        maxBulkLength: limits.maxBulkLength,
        clientName: 'respguard-sentinel',
        credentials: { server: `the sentinel ${address}`, field: 'upstream.sentinel.username and upstream.sentinel.password' },
        ...(sentinel.tls ? { tls: sentinel.tls, tlsField: 'upstream.sentinel.tls' } : {}),
      };
      const link = new SentinelLink(address, options, logger);
      link.on('ready', () => {
        if (this.primary === null) this.checkSoon();
      });
      link.on('down', () => this.onLinkDown(link));
      link.on('event', (event: SentinelEvent) => this.onEvent(link, event));
      return link;
    });
  }

  /** Connects to the sentinels; the first check runs once one of them is connected. */
  start(): void {
    this.primaryPool.start();
    for (const link of this.links) link.start();
    this.checkTimer = setInterval(() => {
      if (this.running === 0) void this.check();
    }, CHECK_INTERVAL_MS);
    this.checkTimer.unref();
  }

  /**
   * Returns the pool of a replica with a ready connection of `protocol`, or null when none has
   * one. A session gets the same replica each time while the replica set stays the same, so
   * that its requests stay on one connection.
   */
  replicaPool(sessionId: number, protocol: 2 | 3): UpstreamPool | null {
    if (!this.replicaReadsStarted) {
      this.replicaReadsStarted = true;
      this.checkSoon();
    }
    const pools = this.replicaOrder;
    for (let i = 0; i < pools.length; i++) {
      const pool = pools[(sessionId + i) % pools.length]!;
      if (pool.pick(protocol)?.state === 'ready') return pool;
    }
    return null;
  }

  /** Connection counts of the primary's pool and the replica pools together, for the metrics. */
  stats(): PoolStats {
    const total = { connections: 0, ready: 0, pending: 0, reconnects: this.droppedReconnects };
    for (const pool of this.allPools()) {
      const stats = pool.stats();
      total.connections += stats.connections;
      total.ready += stats.ready;
      total.pending += stats.pending;
      total.reconnects += stats.reconnects;
    }
    return total;
  }

  /** The connections that sessions pin: always on the primary. */
  get pinned(): UpstreamPool['pinned'] {
    return this.primaryPool.pinned;
  }

  /** Returns the primary's pool and every replica pool. */
  private allPools(): UpstreamPool[] {
    return [this.primaryPool, ...Array.from(this.replicas.values(), (replica) => replica.pool)];
  }

  /** Connections open or opening per node address, shared and pinned: the primary's and each replica's. */
  nodeConnections(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const pool of this.allPools()) {
      if (pool.address !== 'none') counts.set(pool.address, (counts.get(pool.address) ?? 0) + pool.openConnections());
    }
    return counts;
  }

  topologyStats(): TopologyStats {
    return { failovers: this.failovers, refreshes: { ...this.refreshes } };
  }

  close(): void {
    this.closed = true;
    if (this.checkTimer) clearInterval(this.checkTimer);
    if (this.soonTimer) clearTimeout(this.soonTimer);
    for (const link of this.links) link.close();
    for (const replica of this.replicas.values()) replica.pool.close();
    this.primaryPool.close();
  }

  // ---- events ----

  private onEvent(link: SentinelLink, event: SentinelEvent): void {
    if (event.master !== this.masterName || this.closed) return;
    switch (event.kind) {
      case 'failover-start':
        if (event.primary !== (this.primary ?? this.previous)) return;
        this.failover = { from: event.primary, link, until: Date.now() + FAILOVER_HOLD_MS };
        // A check under way may still confirm the old primary: its result must not count.
        this.checkNumber += 1;
        this.logger.warn({ event: 'failover', master: this.masterName, from: event.primary, sentinel: link.address }, 'a sentinel started a failover; requests get an error until the new primary is confirmed');
        this.stopUsingPrimary(`the primary of ${this.masterName} is switching`);
        return;
      case 'switch':
        this.failover = null;
        this.left.delete(event.to);
        if (event.from !== event.to) this.left.set(event.from, Date.now());
        this.checkNumber += 1;
        // This sentinel already names the new primary, so it is asked first.
        this.preferred = this.links.indexOf(link);
        this.checkSoon(0);
        return;
      case 'failover-end':
        this.failover = null;
        this.checkSoon(0);
        return;
    }
  }

  /** Ends the wait for a failover when the sentinel leading it disconnects. */
  private onLinkDown(link: SentinelLink): void {
    if (this.failover?.link !== link) return;
    this.failover = null;
    this.checkSoon();
  }

  // ---- checks ----

  /** Runs a check after `delayMs`, unless one is already due. */
  private checkSoon(delayMs = TRIGGER_DELAY_MS): void {
    if (this.soonTimer || this.closed) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = null;
      void this.check();
    }, delayMs);
    this.soonTimer.unref();
  }

  private async check(): Promise<void> {
    const number = ++this.checkNumber;
    this.running += 1;
    try {
      const finding = await this.findPrimary();
      if (number !== this.checkNumber || this.closed) return;
      this.apply(finding);
      if (this.replicaReadsStarted && this.primary !== null) await this.refreshReplicas(number);
    } catch (error) {
      this.logger.error({ event: 'sentinel', error: (error as Error).message }, 'sentinel check failed');
    } finally {
      this.running -= 1;
    }
  }

  /** Asks each connected sentinel in turn and returns the first primary that ROLE confirms. */
  private async findPrimary(): Promise<Finding> {
    const reasons: string[] = [];
    let demoted = false;
    for (const index of this.linkOrder()) {
      const link = this.links[index]!;
      if (!link.ready) {
        reasons.push(`${link.address}: not connected`);
        continue;
      }
      let address: string | null;
      try {
        address = parseMasterAddress(await link.query(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName]));
      } catch (error) {
        reasons.push(`${link.address}: ${(error as Error).message}`);
        continue;
      }
      if (address === null) {
        reasons.push(`${link.address}: does not monitor ${this.masterName}`);
        continue;
      }
      const holdReason = this.heldBack(address);
      if (holdReason) {
        reasons.push(`${link.address}: names ${address}, ${holdReason}`);
        continue;
      }
      let role: string;
      try {
        role = await this.roleOf(address);
      } catch (error) {
        reasons.push(`${link.address}: names ${address}, whose ROLE failed: ${(error as Error).message}`);
        continue;
      }
      if (role === 'master') {
        this.preferred = index;
        return { primary: address, demoted: false, reasons };
      }
      if (address === this.primary) demoted = true;
      reasons.push(`${link.address}: names ${address}, which reports role ${role}`);
    }
    return { primary: null, demoted, reasons };
  }

  /** Sentinel indexes, the preferred one first. */
  private linkOrder(): number[] {
    const count = this.links.length;
    return Array.from({ length: count }, (_, i) => (this.preferred + i) % count);
  }

  /** Says why `address` must not be used now, or returns null. */
  private heldBack(address: string): string | null {
    const now = Date.now();
    if (this.failover && this.failover.from === address && now < this.failover.until) return 'whose failover is under way';
    const leftAt = this.left.get(address);
    if (leftAt !== undefined && now - leftAt < STALE_ANSWER_MS) return 'the primary before the last switch (the sentinel has not heard of the switch yet)';
    return null;
  }

  /**
   * Reads the role of the node at `address`: on a shared connection for the primary in use (a
   * connection of its own could not reach it either while the pool has none ready), else on a
   * connection of its own.
   */
  private async roleOf(address: string): Promise<string> {
    if (address === this.primary) {
      const connection = this.primaryPool.pick(2);
      if (connection?.state !== 'ready') throw new Error(`no connection to it is ready (${this.primaryPool.lastError || 'connecting'})`);
      return parseRole(await ask(connection, ['ROLE'], QUERY_TIMEOUT_MS));
    }
    const connection = new UpstreamConnection(this.dataOptions(address, 'respguard-role-check'), this.logger);
    try {
      return parseRole(await askWhenReady(connection, ['ROLE']));
    } finally {
      connection.destroy('role checked');
    }
  }

  /** Options of a connection to a Redis node, with the upstream credentials and TLS. */
  private dataOptions(address: string, clientName: string): ConnectionOptions {
    const { host, port } = splitNodeAddress(address);
    return {
      host,
      port,
      username: this.config.username,
      password: this.config.password,
      protocol: 2,
      connectTimeoutMs: this.config.connectTimeoutMs,
      maxReplyDepth: this.limits.maxReplyDepth,
      maxBulkLength: this.limits.maxBulkLength,
      clientName,
      ...(this.config.tls ? { tls: this.config.tls } : {}),
    };
  }

  private apply(finding: Finding): void {
    if (finding.primary !== null) {
      this.refreshes.ok += 1;
      if (this.failedInRow > 0) this.logger.info({ event: 'sentinel', master: this.masterName, primary: finding.primary }, 'the sentinels name a confirmed primary again');
      this.failedInRow = 0;
      if (finding.primary !== this.primary) this.use(finding.primary);
      return;
    }
    this.refreshes.failed += 1;
    this.failedInRow += 1;
    // One line per outage, not one per check: the first failure and then every tenth. While a
    // failover is under way, failing checks are expected.
    if (this.failedInRow === 1 || this.failedInRow % 10 === 0) {
      const fields = { event: 'sentinel', master: this.masterName, primary: this.primary, reasons: finding.reasons, checks: this.failedInRow };
      if (this.failover) this.logger.info(fields, 'no confirmed primary yet while the failover is under way; checking again');
      else this.logger.warn(fields, 'no sentinel named a primary that confirms its role; checking again');
    }
    if (finding.demoted) this.stopUsingPrimary(`${this.primary} is no longer the primary of ${this.masterName}`);
  }

  /** Points the primary's pool at `address`, and logs and counts a switch. */
  private use(address: string): void {
    const from = this.previous;
    this.primary = address;
    this.previous = address;
    this.failover = null;
    this.left.delete(address);
    this.dropReplica(address, 'it is the primary now');
    this.primaryPool.retarget(splitNodeAddress(address), `the primary of ${this.masterName} moved to ${address}`);
    const fields = { event: 'failover', master: this.masterName, from, to: address };
    if (from === null) {
      this.logger.info({ event: 'sentinel', master: this.masterName, primary: address }, 'found the primary through the sentinels');
    } else if (from === address) {
      this.logger.info(fields, 'the primary is in use again');
    } else {
      this.failovers += 1;
      this.left.set(from, Date.now());
      this.logger.warn({ ...fields, failovers: this.failovers }, 'the upstream primary switched');
    }
  }

  /** Stops sending to the primary in use; requests get an error naming `reason` until a check confirms a primary. */
  private stopUsingPrimary(reason: string): void {
    if (this.primary === null) return;
    this.primary = null;
    this.primaryPool.retarget(null, reason);
  }

  // ---- replicas ----

  /** Reads the replica list from the first sentinel that replies, and opens or closes replica pools to match. */
  private async refreshReplicas(number: number): Promise<void> {
    for (const index of this.linkOrder()) {
      const link = this.links[index]!;
      if (!link.ready) continue;
      let reply: RespValue;
      try {
        reply = await link.query(['SENTINEL', 'REPLICAS', this.masterName]);
      } catch {
        continue;
      }
      if (number !== this.checkNumber || this.closed) return;
      this.applyReplicas(parseReplicas(reply));
      return;
    }
  }

  /**
   * Takes reads to the replicas that are up and whose link to the primary is up, opens pools for
   * new ones, and closes those of replicas missing from REPLICA_DROP_AFTER lists in a row. A
   * replica that is resynchronizing or briefly listed as disconnected keeps its pool and only
   * gets no reads meanwhile, so that a short gap costs no reconnection.
   */
  private applyReplicas(states: readonly ReplicaState[]): void {
    const up = states.filter((state) => state.address !== this.primary && state.address !== this.previous);
    const listed = new Set(up.map((state) => state.address));
    for (const [address, replica] of this.replicas) {
      if (listed.has(address)) replica.missing = 0;
      else if (++replica.missing >= REPLICA_DROP_AFTER) this.dropReplica(address, 'the sentinels no longer list it as up');
    }
    for (const { address } of up) {
      if (this.replicas.has(address)) continue;
      const pool = new UpstreamPool(this.config, this.limits, this.logger, splitNodeAddress(address));
      this.replicas.set(address, { pool, missing: 0 });
      pool.start();
      this.logger.info({ event: 'sentinel_replicas', master: this.masterName, replica: address }, 'opened a pool for reads from a replica');
    }
    this.replicaOrder = up.filter((state) => state.linkUp).map((state) => this.replicas.get(state.address)!.pool);
  }

  private dropReplica(address: string, reason: string): void {
    const pool = this.replicas.get(address)?.pool;
    if (!pool) return;
    this.replicas.delete(address);
    this.replicaOrder = this.replicaOrder.filter((candidate) => candidate !== pool);
    this.droppedReconnects += pool.stats().reconnects;
    pool.drainAndClose(`replica ${address} left: ${reason}`);
    this.logger.info({ event: 'sentinel_replicas', master: this.masterName, replica: address, reason }, 'closed the pool of a replica');
  }
}

/** Waits for `connection` to finish its init, then sends `args`; rejects when it closes first. */
function askWhenReady(connection: UpstreamConnection, args: readonly string[]): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    connection.once('close', (reason: string) => reject(new Error(reason)));
    connection.once('ready', () => {
      ask(connection, args, QUERY_TIMEOUT_MS).then(resolve, reject);
    });
  });
}
