/**
 * The slot map of cluster mode: the primary that serves each of the 16384 slots, updated from
 * whole topology views (CLUSTER NODES) and from single MOVED replies. Applying a view returns
 * what changed, for the topology log lines and the failover count.
 */
import { SLOT_COUNT } from './slots.js';
import type { TopologyView } from './topology.js';

/** Consecutive slots that moved from one primary to another in one view. */
export interface MovedRange {
  readonly start: number;
  readonly end: number;
  /** The previous primary; undefined when the slots had none (the first view). */
  readonly from: string | undefined;
  readonly to: string;
  /** True when `to` was a replica of `from`: a failover, manual or automatic. */
  readonly failover: boolean;
}

export interface TopologyChange {
  readonly moved: readonly MovedRange[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Distinct pairs of old and new primary among the failover ranges. */
  readonly failovers: number;
  /** Slots left as they were because the view showed them with an older config epoch. */
  readonly staleSlots: number;
}

export class SlotMap {
  /** The primary to send each slot's requests to: from the last view, or from a later MOVED. */
  private readonly owners = new Array<string | undefined>(SLOT_COUNT);
  /** The primary of each slot in the views applied, and its config epoch. */
  private readonly viewOwners = new Array<string | undefined>(SLOT_COUNT);
  private readonly epochs = new Array<number>(SLOT_COUNT).fill(-1);
  private replicas: ReadonlyMap<string, ReadonlySet<string>> = new Map();
  /** Primaries ordered by their lowest slot. */
  private order: string[] = [];

  /** True once a view was applied. */
  get known(): boolean {
    return this.order.length > 0;
  }

  ownerOf(slot: number): string | undefined {
    return this.owners[slot];
  }

  /** Primary addresses, ordered by their lowest slot; the order changes only when slots change owner. */
  get primaries(): readonly string[] {
    return this.order;
  }

  /** Records a MOVED reply's slot owner until the next view. */
  move(slot: number, address: string): void {
    this.owners[slot] = address;
  }

  /**
   * Applies a view. A slot whose owner differs from the map's takes the view's owner, unless
   * the view's config epoch for it is lower than the map's. A lower epoch means that the node
   * that sent the view has not yet learned of a newer change.
   */
  apply(view: TopologyView): TopologyChange {
    const before = new Set(this.order);
    const moved: MovedRange[] = [];
    let staleSlots = 0;
    for (const range of view.ranges) {
      for (let slot = range.start; slot <= range.end && slot < SLOT_COUNT; slot++) {
        const previous = this.viewOwners[slot];
        if (previous !== range.primary && range.epoch < this.epochs[slot]!) {
          staleSlots += 1;
          continue;
        }
        this.owners[slot] = range.primary;
        this.epochs[slot] = range.epoch;
        if (previous === range.primary) continue;
        this.viewOwners[slot] = range.primary;
        this.recordMove(moved, slot, previous, range.primary);
      }
    }
    this.replicas = view.replicas;
    this.order = this.computeOrder();
    const after = new Set(this.order);
    const failoverPairs = new Set(moved.filter((range) => range.failover).map((range) => `${range.from} ${range.to}`));
    return {
      moved,
      added: this.order.filter((address) => !before.has(address)),
      removed: [...before].filter((address) => !after.has(address)),
      failovers: failoverPairs.size,
      staleSlots,
    };
  }

  /** Extends the last moved range by `slot` when it continues it, else starts a new one. */
  private recordMove(moved: MovedRange[], slot: number, from: string | undefined, to: string): void {
    const last = moved[moved.length - 1];
    if (last && last.end === slot - 1 && last.from === from && last.to === to) {
      moved[moved.length - 1] = { ...last, end: slot };
      return;
    }
    const failover = from !== undefined && (this.replicas.get(from)?.has(to) ?? false);
    moved.push({ start: slot, end: slot, from, to, failover });
  }

  private computeOrder(): string[] {
    const order: string[] = [];
    const seen = new Set<string>();
    for (const owner of this.viewOwners) {
      if (owner === undefined || seen.has(owner)) continue;
      seen.add(owner);
      order.push(owner);
    }
    return order;
  }
}
