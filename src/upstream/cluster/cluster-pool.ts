/**
 * The upstream side of cluster mode: the slot map learned with CLUSTER NODES, and one
 * UpstreamPool of shared connections per primary. Sessions ask it which pool serves a slot.
 *
 * The map is read at start, every REFRESH_INTERVAL_MS, and soon after a MOVED reply (which also
 * updates the one slot at once). While a primary has no ready connection, or has a request in
 * flight for longer than STALL_SUSPECT_MS, the map is read every CHECK_INTERVAL_MS. A replica's
 * promotion is then learned soon after the cluster made it, also when the old primary stalls
 * without closing its connections. Reads go to nodes that do not look stalled first.
 * Until the first map arrives, every request goes to a seed node, whose MOVED replies the
 * sessions follow.
 *
 * Pools of nodes that are no longer primaries are retired: they stop reconnecting and close
 * each connection once its requests in flight got their replies. A node that the cluster newly
 * flagged `fail` gets its connections closed at once instead, so that requests waiting on a
 * stalled node get the connection-lost error reply when the cluster gives up on it.
 */
import { EventEmitter } from 'node:events';
import type { LimitsConfig, UpstreamConfig } from '../../config/types.js';
import type { Logger } from '../../observability/logger.js';
import type { UpstreamConnection } from '../connection.js';
import type { PinnedPool } from '../pinned-pool.js';
import { UpstreamPool, type PoolStats } from '../pool.js';
import { decodeResp2 } from '../resp2-decode.js';
import { SlotMap, type TopologyChange } from './slot-map.js';
import { parseClusterNodes, type TopologyView } from './topology.js';

/** Reading CLUSTER NODES every second costs a node little, because its reply has one short line per node. */
const REFRESH_INTERVAL_MS = 1000;
/** How often the pools' health is checked; a primary without a ready connection or with a stalled request triggers a refresh. */
const CHECK_INTERVAL_MS = 100;
/**
 * A primary whose oldest request in flight on a shared connection waited longer than this may
 * have stalled. Shared connections carry no blocking commands, so a healthy node replies sooner
 * unless a single command runs this long.
 */
const STALL_SUSPECT_MS = 500;
/** A burst of MOVED replies during a resharding triggers one refresh, not one per reply. */
const MOVED_REFRESH_DELAY_MS = 100;
/**
 * A topology read without a reply after this long is given up, so that a node that stalls
 * (upstream.commandTimeoutMs is off by default) cannot stop later reads.
 */
const REFRESH_TIMEOUT_MS = 2000;
/** The CLUSTER NODES error of a Redis server with `cluster-enabled no` (Redis 7.0: "ERR This instance has cluster support disabled"). */
const CLUSTER_DISABLED = /cluster support disabled/i;
/** Moved ranges logged one line each per refresh; the rest are summed up in one line. */
const MAX_RANGE_LINES = 20;

/** Redirect kinds, as the metrics label them. */
export type RedirectKind = 'moved' | 'ask';

/** Splits `host:port`, with the port after the last colon so that IPv6 hosts keep theirs. */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** Events: 'first-ready' (UpstreamConnection) when a node's connection became ready while no node had one. */
export class ClusterPool extends EventEmitter {
  private readonly map = new SlotMap();
  private readonly pools = new Map<string, UpstreamPool>();
  /** Pools of nodes that left the map, until their last connection closed. */
  private readonly retiring = new Set<UpstreamPool>();
  private readonly seeds: readonly string[];
  private checkTimer: NodeJS.Timeout | null = null;
  private movedTimer: NodeJS.Timeout | null = null;
  private refreshing = false;
  /** Number of the topology read in progress; a reply to an earlier, given-up read is ignored. */
  private refreshNumber = 0;
  /** The node of the read in progress, and the node of the last read that timed out, which later reads try last. */
  private refreshNode: string | null = null;
  private timedOutNode: string | null = null;
  private lastRefreshAt = 0;
  private refreshFailuresInRow = 0;
  private started = false;
  private closed = false;
  /** Topology reads by result. */
  readonly refreshes = { ok: 0, failed: 0 };
  /** Redirects followed, by the address they pointed to. */
  readonly redirects = new Map<string, Record<RedirectKind, number>>();
  /** Primaries replaced by one of their replicas, as seen in the topology. */
  failovers = 0;
  /** Addresses flagged `fail` in the last view applied. */
  private failedNodes: ReadonlySet<string> = new Set();
  /** Reconnects of pools that closed, so that the summed count never goes down. */
  private closedPoolReconnects = 0;
  /**
   * The error of the last topology read when the node replied that it has cluster support
   * disabled, so that it is logged once per change and not on every read. Null otherwise.
   */
  private notCluster: { readonly node: string; readonly error: string } | null = null;

  constructor(
    private readonly config: UpstreamConfig,
    private readonly limits: LimitsConfig,
    private readonly logger: Logger,
  ) {
    super();
    this.seeds = config.nodes && config.nodes.length > 0 ? config.nodes : [`${config.host}:${config.port}`];
    for (const seed of this.seeds) this.poolFor(seed);
  }

  /** True once a topology was read. */
  get hasMap(): boolean {
    return this.map.known;
  }

  /** Starts the connections of the known pools and the topology checks. */
  start(): void {
    this.started = true;
    for (const pool of this.pools.values()) pool.start();
    this.checkTimer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
    this.checkTimer.unref();
  }

  /** Returns the pool of the primary serving `slot`, or the keyless pool while the slot is unknown. */
  poolForSlot(slot: number): UpstreamPool {
    const owner = this.map.ownerOf(slot);
    return owner === undefined ? this.keylessPool() : this.poolFor(owner);
  }

  /**
   * Returns the pool for requests without keys: the first primary (by lowest slot) with ready
   * connections, else the first primary. Before the first map, it is the first ready seed node.
   */
  keylessPool(): UpstreamPool {
    const addresses = this.map.known ? this.map.primaries : this.seeds;
    for (const address of addresses) {
      const pool = this.pools.get(address);
      if (pool?.isReady) return pool;
    }
    return this.poolFor(addresses[0]!);
  }

  /** Returns the pool of `address`, creating and starting it for a node seen the first time. */
  poolFor(address: string): UpstreamPool {
    let pool = this.pools.get(address);
    if (pool) return pool;
    const { host, port } = splitAddress(address);
    const created = new UpstreamPool({ ...this.config, host, port }, this.limits, this.logger);
    this.pools.set(address, created);
    // Until the first map arrives, each new ready connection is a chance to read it.
    created.on('ready', () => {
      if (!this.map.known) this.refresh();
    });
    created.on('first-ready', (connection: UpstreamConnection) => {
      // Only RESP2 connections count, as in the pool's own event: a ready RESP3 connection of
      // another node must not keep every node's first RESP2 connection from reading the table.
      const othersReady = [...this.pools.values()].some((other) => other !== created && other.hasReady(2));
      if (!othersReady) this.emit('first-ready', connection);
    });
    if (this.started) created.start();
    pool = created;
    return pool;
  }

  /** Returns the pools of every primary, ordered by their lowest slot, or the keyless pool alone before the first map. */
  primaryPools(): UpstreamPool[] {
    if (!this.map.known) return [this.keylessPool()];
    return this.map.primaries.map((address) => this.poolFor(address));
  }

  /** Returns the pinned pool that handed out `connection`, also when its node left the map. */
  pinnedPoolOf(connection: UpstreamConnection): PinnedPool {
    for (const pool of this.allPools()) if (pool.pinned.holds(connection)) return pool.pinned;
    return this.poolFor(`${connection.options.host}:${connection.options.port}`).pinned;
  }

  /** Counts a MOVED or ASK reply that a request followed to `address`. */
  countRedirect(kind: RedirectKind, address: string): void {
    let counts = this.redirects.get(address);
    if (!counts) {
      counts = { moved: 0, ask: 0 };
      this.redirects.set(address, counts);
    }
    counts[kind] += 1;
  }

  /** Records a MOVED reply: the slot moves at once, and a full refresh follows shortly. */
  moved(slot: number, address: string): void {
    this.map.move(slot, address);
    this.poolFor(address);
    if (this.movedTimer || this.closed) return;
    this.movedTimer = setTimeout(() => {
      this.movedTimer = null;
      this.refresh();
    }, MOVED_REFRESH_DELAY_MS);
    this.movedTimer.unref();
  }

  /** Refreshes the map when it is due or a primary has no ready connection or looks stalled, and drops retired pools whose connections all closed. */
  private check(): void {
    for (const pool of this.retiring) {
      const stats = pool.stats();
      if (stats.connections > 0 || pool.pinned.stats().active > 0) continue;
      this.retiring.delete(pool);
      this.closedPoolReconnects += stats.reconnects;
    }
    if (this.refreshing && Date.now() - this.lastRefreshAt >= REFRESH_TIMEOUT_MS) {
      this.refreshing = false;
      this.timedOutNode = this.refreshNode;
      this.refreshFailed({ node: this.refreshNode }, `no reply to CLUSTER NODES within ${REFRESH_TIMEOUT_MS} ms; reading the topology from another node`);
    }
    const due = Date.now() - this.lastRefreshAt >= REFRESH_INTERVAL_MS;
    const primaryDown = this.map.primaries.some((address) => this.pools.get(address)?.stats().ready === 0);
    const primaryStalled = this.map.primaries.some((address) => this.looksStalled(address));
    if (due || primaryDown || primaryStalled || !this.map.known) this.refresh();
  }

  /** True when the pool of `address` has a request in flight for longer than STALL_SUSPECT_MS. */
  private looksStalled(address: string): boolean {
    const since = this.pools.get(address)?.oldestPendingSince() ?? 0n;
    return since !== 0n && process.hrtime.bigint() - since > BigInt(STALL_SUSPECT_MS) * 1_000_000n;
  }

  /**
   * Returns the nodes to read the topology from: primaries, seeds and other known nodes. Nodes
   * that look stalled come after the others, and the node of the last read that timed out comes last.
   */
  private refreshCandidates(): string[] {
    const all = [...new Set([...this.map.primaries, ...this.seeds, ...this.pools.keys()])];
    const rank = (address: string): number => (address === this.timedOutNode ? 2 : this.looksStalled(address) ? 1 : 0);
    return all.map((address) => ({ address, rank: rank(address) })).sort((a, b) => a.rank - b.rank).map((entry) => entry.address);
  }

  /** Reads CLUSTER NODES from the first node that has a ready connection, primaries first, and applies it. */
  refresh(): void {
    if (this.refreshing || this.closed) return;
    this.lastRefreshAt = Date.now();
    for (const address of this.refreshCandidates()) {
      const connection = this.pools.get(address)?.pick(2);
      if (!connection || connection.state !== 'ready') continue;
      this.refreshing = true;
      this.refreshNode = address;
      const number = ++this.refreshNumber;
      connection.sendInternal(['CLUSTER', 'NODES'], (bytes) => {
        if (number !== this.refreshNumber || !this.refreshing) return;
        this.refreshing = false;
        if (bytes[0] !== 0x2d /* '-' */) this.timedOutNode = null;
        this.applyNodesReply(bytes, address);
      });
      return;
    }
    this.refreshFailed({ seeds: this.seeds }, 'cannot refresh the cluster topology: no cluster node has a ready connection; retrying');
  }

  private refreshFailed(fields: object, message: string): void {
    this.refreshes.failed += 1;
    this.refreshFailuresInRow += 1;
    // While every node is down this repeats every CHECK_INTERVAL_MS: log the first and then every 100th (about 10 s).
    if (this.refreshFailuresInRow % 100 === 1) this.logger.warn({ event: 'cluster_topology', failures: this.refreshFailuresInRow, ...fields }, message);
  }

  /**
   * Counts a topology read from a node without cluster support, and logs an error when the
   * previous read did not fail this way: the config names a cluster where there is none.
   */
  private reportNotCluster(node: string, error: string): void {
    this.refreshes.failed += 1;
    this.refreshFailuresInRow += 1;
    if (this.notCluster !== null) return;
    this.notCluster = { node, error };
    this.logger.error(
      { event: 'cluster_topology', node, error },
      `the upstream ${node} is not a Redis Cluster node (CLUSTER NODES failed: ${error}), so respguard has no slot map and is not ready. ` +
        'Set upstream.mode: standalone, or upstream.mode: sentinel with a sentinel section, to match the Redis server',
    );
  }

  private applyNodesReply(bytes: Buffer, from: string): void {
    if (this.closed) return;
    let view: TopologyView;
    try {
      if (bytes[0] === 0x2d /* '-' */) throw new Error(bytes.toString('utf8', 1).trim());
      const text = decodeResp2(bytes);
      if (!Buffer.isBuffer(text) && typeof text !== 'string') throw new Error('the CLUSTER NODES reply is not a string');
      view = parseClusterNodes(text.toString(), splitAddress(from).host);
      if (view.ranges.length === 0) throw new Error('the CLUSTER NODES reply assigns no slot');
    } catch (error) {
      const message = (error as Error).message;
      if (CLUSTER_DISABLED.test(message)) {
        this.reportNotCluster(from, message);
        return;
      }
      this.refreshFailed({ node: from, error: message }, 'failed to read CLUSTER NODES; keeping the current slot map');
      return;
    }
    this.refreshes.ok += 1;
    this.refreshFailuresInRow = 0;
    if (this.notCluster !== null) {
      this.notCluster = null;
      this.logger.info({ event: 'cluster_topology', node: from }, 'the upstream now replies to CLUSTER NODES as a Redis Cluster node');
    }
    const first = !this.map.known;
    const change = this.map.apply(view);
    this.failovers += change.failovers;
    for (const address of this.map.primaries) this.poolFor(address);
    this.retireLeftPools();
    this.dropNewlyFailed(view.failed, from);
    this.logChange(change, from, first);
  }

  /**
   * Closes the connections of nodes that the view flags `fail` and the previous view did not,
   * also of pools still closing. Their requests in flight get the connection-lost error reply
   * (the command may or may not have run) instead of waiting for a node that may have stalled.
   * Acting only on the change keeps a node flagged for long from losing its connections on every read.
   */
  private dropNewlyFailed(failed: ReadonlySet<string>, from: string): void {
    const previous = this.failedNodes;
    this.failedNodes = failed;
    for (const pool of this.allPools()) {
      if (!failed.has(pool.address) || previous.has(pool.address)) continue;
      const requests = pool.dropConnections('the cluster flagged the node as failed');
      this.logger.warn(
        { event: 'cluster_topology', source: from, node: pool.address, requests },
        'the cluster flagged a node as failed; closed its connections and failed its requests in flight',
      );
    }
  }

  /** Retires the pools of nodes that serve no slot in the map now. */
  private retireLeftPools(): void {
    const primaries = new Set(this.map.primaries);
    for (const [address, pool] of this.pools) {
      if (primaries.has(address)) continue;
      this.pools.delete(address);
      this.retiring.add(pool);
      pool.retire();
      this.logger.info({ event: 'cluster_topology', node: address }, 'closing the pool of a node that serves no slots now, after its requests in flight');
    }
  }

  private logChange(change: TopologyChange, from: string, first: boolean): void {
    const source = { event: 'cluster_topology', source: from };
    if (first) {
      this.logger.info({ ...source, primaries: this.map.primaries }, 'cluster slot map loaded');
      return;
    }
    for (const address of change.added) this.logger.info({ ...source, node: address }, 'cluster primary added');
    for (const address of change.removed) this.logger.info({ ...source, node: address }, 'cluster primary removed');
    for (const range of change.moved.slice(0, MAX_RANGE_LINES)) {
      const fields = { ...source, start: range.start, end: range.end, from: range.from, to: range.to, failover: range.failover };
      this.logger.info(fields, range.failover ? 'cluster slot range moved to a promoted replica' : 'cluster slot range moved');
    }
    if (change.moved.length > MAX_RANGE_LINES) this.logger.info({ ...source, ranges: change.moved.length - MAX_RANGE_LINES }, 'more cluster slot ranges moved');
    if (change.staleSlots > 0) this.logger.debug({ ...source, slots: change.staleSlots }, 'ignored slot owners with an older config epoch');
  }

  /** True when the map is known and every primary's pool has ready connections of both protocols. */
  get isReady(): boolean {
    return this.map.known && this.primaryPools().every((pool) => pool.isReady);
  }

  /**
   * Returns what keeps the cluster from being ready (isReady false), or null when it is ready:
   * a seed without cluster support, a slot map not read yet, or the primaries without a ready
   * connection of each protocol.
   */
  notReadyReason(): string | null {
    if (!this.map.known) {
      if (this.notCluster !== null) return `the upstream ${this.notCluster.node} is not a Redis Cluster node (${this.notCluster.error})`;
      return 'the cluster slot map is not known yet';
    }
    const missing = this.map.primaries.filter((address) => !this.poolFor(address).isReady);
    if (missing.length === 0) return null;
    const verb = missing.length === 1 ? 'has' : 'have';
    return `${missing.length} of ${this.map.primaries.length} cluster primaries ${verb} no ready connection: ${missing.join(', ')}`;
  }

  /** Open connections per node address, shared and pinned: every node of the map, and nodes that left it while they have any. */
  nodeConnections(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const pool of this.allPools()) {
      const open = pool.openConnections();
      if (open === 0 && this.retiring.has(pool)) continue;
      counts.set(pool.address, (counts.get(pool.address) ?? 0) + open);
    }
    return counts;
  }

  /** Shared connection figures summed over every node. */
  stats(): PoolStats {
    const total = { connections: 0, ready: 0, pending: 0, reconnects: this.closedPoolReconnects };
    for (const pool of this.allPools()) {
      const stats = pool.stats();
      total.connections += stats.connections;
      total.ready += stats.ready;
      total.pending += stats.pending;
      total.reconnects += stats.reconnects;
    }
    return total;
  }

  /** Pinned connection figures summed over every node. */
  get pinned(): { stats(): { readonly active: number } } {
    return { stats: () => ({ active: this.allPools().reduce((sum, pool) => sum + pool.pinned.stats().active, 0) }) };
  }

  /** Returns the pools of the map's nodes and those still closing. */
  private allPools(): UpstreamPool[] {
    return [...this.pools.values(), ...this.retiring];
  }

  close(): void {
    this.closed = true;
    if (this.checkTimer) clearInterval(this.checkTimer);
    if (this.movedTimer) clearTimeout(this.movedTimer);
    for (const pool of this.allPools()) pool.close();
  }
}
