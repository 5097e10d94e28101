/**
 * The upstream side of cluster mode: the slot map learned with CLUSTER SLOTS, and one
 * UpstreamPool of shared connections per primary. Sessions ask it which pool serves a slot.
 *
 * The map is read from the seed nodes at start, every REFRESH_INTERVAL_MS, and soon after a
 * MOVED reply (which also updates the one slot at once). Until the first map arrives, every
 * request goes to the first seed, whose MOVED replies the sessions follow.
 */
import type { LimitsConfig, UpstreamConfig } from '../../config/types.js';
import type { Logger } from '../../observability/logger.js';
import { UpstreamPool } from '../pool.js';
import { decodeResp2 } from '../resp2-decode.js';
import { SLOT_COUNT } from './slots.js';

const REFRESH_INTERVAL_MS = 10_000;
/** A burst of MOVED replies during a resharding triggers one refresh, not one per reply. */
const MOVED_REFRESH_DELAY_MS = 100;

/** One contiguous range of slots and the address of the primary that serves it. */
export interface SlotRange {
  readonly start: number;
  readonly end: number;
  readonly primary: string;
}

/**
 * Reads a CLUSTER SLOTS reply (RESP2, decoded) into slot ranges. A primary with an empty host
 * is reachable on the address the reply came from, so it gets `fallbackHost`.
 */
export function parseClusterSlots(value: unknown, fallbackHost: string): SlotRange[] {
  if (!Array.isArray(value)) throw new Error('CLUSTER SLOTS reply is not an array');
  const ranges: SlotRange[] = [];
  for (const entry of value) {
    if (!Array.isArray(entry) || entry.length < 3 || !Array.isArray(entry[2])) throw new Error('invalid CLUSTER SLOTS entry');
    const [start, end, node] = entry as [unknown, unknown, unknown[]];
    const rawHost = node[0] === null || node[0] === undefined ? '' : String(node[0]);
    const host = rawHost === '' || rawHost === '?' ? fallbackHost : rawHost;
    ranges.push({ start: Number(start), end: Number(end), primary: `${host}:${Number(node[1])}` });
  }
  return ranges;
}

/** Splits `host:port`, with the port after the last colon so that IPv6 hosts keep theirs. */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

export class ClusterPool {
  /** The primary address of each slot; empty until the first map arrives. */
  private readonly owners: (string | undefined)[] = new Array<string | undefined>(SLOT_COUNT);
  private readonly pools = new Map<string, UpstreamPool>();
  private readonly seeds: readonly string[];
  private refreshTimer: NodeJS.Timeout | null = null;
  private movedTimer: NodeJS.Timeout | null = null;
  private refreshing = false;
  private closed = false;
  /** True once a CLUSTER SLOTS reply was read. */
  hasMap = false;
  refreshes = 0;

  constructor(
    private readonly config: UpstreamConfig,
    private readonly limits: LimitsConfig,
    private readonly logger: Logger,
  ) {
    this.seeds = config.nodes && config.nodes.length > 0 ? config.nodes : [`${config.host}:${config.port}`];
    this.poolFor(this.seeds[0]!);
  }

  /**
   * The pool of the first seed node. The server reads the command table, readiness and pinned
   * connections from it.
   */
  get seedPool(): UpstreamPool {
    return this.pools.get(this.seeds[0]!)!;
  }

  /** Starts the connections of the known pools and the first topology refresh. */
  start(): void {
    for (const pool of this.pools.values()) pool.start();
    this.refreshTimer = setInterval(() => this.refresh(), REFRESH_INTERVAL_MS);
    this.refreshTimer.unref();
  }

  /** Returns the pool of the primary serving `slot`, or the seed pool while the slot is unknown. */
  poolForSlot(slot: number): UpstreamPool {
    const owner = this.owners[slot];
    return owner === undefined ? this.seedPool : this.poolFor(owner);
  }

  /** Returns the pool of `address`, creating and starting it for a node seen the first time. */
  poolFor(address: string): UpstreamPool {
    let pool = this.pools.get(address);
    if (pool) return pool;
    // NOTE: pools of nodes that leave the map stay open until respguard stops.
    const { host, port } = splitAddress(address);
    pool = new UpstreamPool({ ...this.config, host, port }, this.limits, this.logger);
    this.pools.set(address, pool);
    // Until the first map arrives, each new ready connection is a chance to read it.
    pool.on('ready', () => {
      if (!this.hasMap) this.refresh();
    });
    if (this.refreshTimer) pool.start();
    return pool;
  }

  /** Returns the pools of every primary in the current map, or the seed pool alone before the first map. */
  primaryPools(): UpstreamPool[] {
    const addresses = new Set<string>();
    for (const owner of this.owners) if (owner !== undefined) addresses.add(owner);
    if (addresses.size === 0) return [this.seedPool];
    return [...addresses].map((address) => this.poolFor(address));
  }

  /** Records a MOVED reply: the slot moves at once, and a full refresh follows shortly. */
  moved(slot: number, address: string): void {
    this.owners[slot] = address;
    this.poolFor(address);
    if (this.movedTimer || this.closed) return;
    this.movedTimer = setTimeout(() => {
      this.movedTimer = null;
      this.refresh();
    }, MOVED_REFRESH_DELAY_MS);
    this.movedTimer.unref();
  }

  /** Reads CLUSTER SLOTS from the first node that has a ready connection, and replaces the map. */
  refresh(): void {
    if (this.refreshing || this.closed) return;
    const candidates = [...this.seeds, ...this.pools.keys()];
    for (const address of candidates) {
      const connection = this.pools.get(address)?.pick(2);
      if (!connection || connection.state !== 'ready') continue;
      this.refreshing = true;
      connection.sendInternal(['CLUSTER', 'SLOTS'], (bytes) => {
        this.refreshing = false;
        this.applySlotsReply(bytes, address);
      });
      return;
    }
    this.logger.warn({ event: 'cluster_topology', seeds: this.seeds }, 'cannot refresh the cluster slot map: no cluster node has a ready connection; retrying later');
  }

  private applySlotsReply(bytes: Buffer, from: string): void {
    let ranges: SlotRange[];
    try {
      ranges = parseClusterSlots(decodeResp2(bytes), splitAddress(from).host);
    } catch (error) {
      this.logger.warn({ event: 'cluster_topology', node: from, error: (error as Error).message }, 'failed to read CLUSTER SLOTS; keeping the current slot map');
      return;
    }
    let changed = 0;
    for (const range of ranges) {
      for (let slot = range.start; slot <= range.end && slot < SLOT_COUNT; slot++) {
        if (this.owners[slot] !== range.primary) changed += 1;
        this.owners[slot] = range.primary;
      }
      this.poolFor(range.primary);
    }
    this.hasMap = true;
    this.refreshes += 1;
    const primaries = [...new Set(ranges.map((range) => range.primary))];
    const fields = { event: 'cluster_topology', node: from, primaries, ranges: ranges.length, changedSlots: changed };
    if (changed > 0) this.logger.info(fields, 'cluster slot map refreshed');
    else this.logger.debug(fields, 'cluster slot map unchanged');
  }

  /** True when every primary's pool has ready connections of both protocols. */
  get isReady(): boolean {
    return this.hasMap && this.primaryPools().every((pool) => pool.isReady);
  }

  close(): void {
    this.closed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.movedTimer) clearTimeout(this.movedTimer);
    for (const pool of this.pools.values()) pool.close();
  }
}
