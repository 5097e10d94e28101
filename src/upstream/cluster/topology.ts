/**
 * The cluster's topology in one node's view, read from its CLUSTER NODES reply: which primary
 * serves which slots, with that primary's config epoch, and each primary's replicas.
 *
 * CLUSTER NODES is read instead of CLUSTER SLOTS for the config epochs. A replica that takes
 * over a primary's slots gets a config epoch higher than any other node's, so a node whose
 * view is still older (gossip has not reached it yet) shows a lower epoch for those slots,
 * and its view of them can be ignored.
 */

/** One contiguous range of slots and the primary that serves it. */
export interface SlotRange {
  readonly start: number;
  readonly end: number;
  /** Address of the primary, `host:port`. */
  readonly primary: string;
  /** The primary's config epoch. */
  readonly epoch: number;
}

export interface TopologyView {
  /** Slot ranges, sorted by their first slot. */
  readonly ranges: readonly SlotRange[];
  /** Addresses of the replicas of each primary address, failed replicas left out. */
  readonly replicas: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Addresses of the nodes flagged `fail`: a majority of the primaries found them unreachable
   * for longer than `cluster-node-timeout`. A node that only this view suspects (`fail?`) is not in it.
   */
  readonly failed: ReadonlySet<string>;
}

interface NodeLine {
  readonly id: string;
  readonly address: string;
  readonly primaryId: string | null;
  readonly epoch: number;
  readonly failed: boolean;
  readonly slots: readonly string[];
}

/**
 * Reads a CLUSTER NODES reply. `fallbackHost` replaces an empty host, which a node reports for
 * itself until it learns its address; it is the host the reply came from.
 */
export function parseClusterNodes(text: string, fallbackHost: string): TopologyView {
  const nodes: NodeLine[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const node = parseNodeLine(line, fallbackHost);
    if (node) nodes.push(node);
  }
  const addressById = new Map(nodes.map((node) => [node.id, node.address]));
  const ranges: SlotRange[] = [];
  const replicas = new Map<string, Set<string>>();
  const failed = new Set<string>();
  for (const node of nodes) {
    if (node.failed) failed.add(node.address);
    if (node.primaryId !== null) {
      const primary = addressById.get(node.primaryId);
      if (primary === undefined || node.failed) continue;
      let set = replicas.get(primary);
      if (!set) {
        set = new Set();
        replicas.set(primary, set);
      }
      set.add(node.address);
      continue;
    }
    for (const field of node.slots) {
      const range = parseSlotField(field);
      if (range) ranges.push({ ...range, primary: node.address, epoch: node.epoch });
    }
  }
  ranges.sort((a, b) => a.start - b.start);
  return { ranges, replicas, failed };
}

/**
 * Reads one line: `<id> <host:port@cport[,hostname]> <flags> <primary id or -> <ping-sent>
 * <pong-recv> <config-epoch> <link-state> <slot>...`. Returns null for a node without a usable
 * address (flags handshake or noaddr).
 */
function parseNodeLine(line: string, fallbackHost: string): NodeLine | null {
  const fields = line.trim().split(' ');
  if (fields.length < 8) throw new Error(`invalid CLUSTER NODES line with ${fields.length} fields`);
  const flags = fields[2]!.split(',');
  if (flags.includes('handshake') || flags.includes('noaddr')) return null;
  const endpoint = fields[1]!.split('@')[0]!;
  const colon = endpoint.lastIndexOf(':');
  if (colon < 0) throw new Error(`invalid node address in CLUSTER NODES: ${endpoint}`);
  const host = colon === 0 ? fallbackHost : endpoint.slice(0, colon);
  const port = Number(endpoint.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0) return null;
  const epoch = Number(fields[6]);
  if (!Number.isInteger(epoch)) throw new Error(`invalid config epoch in CLUSTER NODES: ${fields[6]}`);
  // A replica names its primary's id in the fourth field; a primary has `-` there.
  const primaryId = flags.includes('master') || fields[3] === '-' ? null : fields[3]!;
  return {
    id: fields[0]!,
    address: `${host}:${port}`,
    primaryId,
    epoch,
    failed: flags.includes('fail'),
    slots: fields.slice(8),
  };
}

/** Reads `5461` or `0-5460`; returns null for a migrating or importing marker such as `[42->-id]`. */
function parseSlotField(field: string): { start: number; end: number } | null {
  if (field.startsWith('[')) return null;
  const dash = field.indexOf('-');
  const start = Number(dash < 0 ? field : field.slice(0, dash));
  const end = dash < 0 ? start : Number(field.slice(dash + 1));
  if (!Number.isInteger(start) || !Number.isInteger(end) || start > end) throw new Error(`invalid slot range in CLUSTER NODES: ${field}`);
  return { start, end };
}
