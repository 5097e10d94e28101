/**
 * SCAN across the primaries of a cluster, with one cursor for the client. The composite cursor
 * is `nodeCursor * NODE_FACTOR + nodeIndex` in decimal, where nodeIndex is the primary's place
 * in the order of lowest slots and nodeCursor the cursor that primary returned. `0` starts at
 * the first primary. When a primary's scan ends, the client gets the cursor of the next primary's
 * start, and after the last primary `0`. MATCH, COUNT and TYPE go to each primary unchanged.
 *
 * A scan over an unchanged topology returns every key that existed for its whole duration at
 * least once, as SCAN does on one Redis. When slots move or a replica takes over during a scan,
 * the same cursor may point to another node, or a node may no longer contain the keys it had.
 * Keys can then be missed or returned twice, as with a cluster-aware client that scans node by
 * node.
 */
import { encodeBulk, encodeCommand, encodeError } from '../../resp/encode.js';
import type { ReplySlot } from '../../session/reply-slot.js';
import type { Session } from '../../session/session.js';
import { upstreamUnavailableText } from '../../session/texts.js';
import type { ClusterPool } from './cluster-pool.js';
import { SLOT_COUNT } from './slots.js';

/** A cluster has at most one primary per slot, so node indexes stay below this. */
const NODE_FACTOR = BigInt(SLOT_COUNT);
/** Redis's reply to a cursor that is not an unsigned integer. */
const INVALID_CURSOR = encodeError('ERR invalid cursor');
const DECIMAL = /^[0-9]{1,40}$/;

/** A composite cursor split into the primary's index and that primary's own cursor. */
export interface NodeCursor {
  readonly node: number;
  readonly cursor: bigint;
}

/** Splits a composite cursor; returns null when it is not a decimal integer. */
export function decodeScanCursor(text: string): NodeCursor | null {
  if (!DECIMAL.test(text)) return null;
  const value = BigInt(text);
  return { node: Number(value % NODE_FACTOR), cursor: value / NODE_FACTOR };
}

export function encodeScanCursor(position: NodeCursor): string {
  return (position.cursor * NODE_FACTOR + BigInt(position.node)).toString();
}

/** Returns the composite cursor that follows a reply of primary `node` (of `nodeCount`) with cursor `nodeCursor`. */
export function nextScanCursor(node: number, nodeCursor: bigint, nodeCount: number): string {
  if (nodeCursor !== 0n) return encodeScanCursor({ node, cursor: nodeCursor });
  return node + 1 < nodeCount ? encodeScanCursor({ node: node + 1, cursor: 0n }) : '0';
}

/**
 * Sends SCAN to the primary that the client's cursor names, and replaces the primary's cursor
 * in the reply with the composite one. Returns the client's reply slot, or null after an
 * invalid cursor got Redis's error.
 */
export function scanInCluster(session: Session, cluster: ClusterPool, args: readonly Buffer[]): ReplySlot | null {
  const pools = cluster.primaryPools();
  const position = decodeScanCursor(args[1]!.toString('latin1'));
  if (!position || position.node >= pools.length) {
    session.reject(INVALID_CURSOR, 'scan', 'rejected');
    return null;
  }
  const nodeArgs = [...args];
  nodeArgs[1] = Buffer.from(position.cursor.toString());
  const pool = pools[position.node]!;
  const parent = session.reserveReply('scan');
  const onReply = (data: Buffer): void => parent.fill(replaceCursor(data, position.node, pools.length));
  if (!session.forwardPart('scan', encodeCommand(nodeArgs), pool, onReply)) parent.fill(upstreamUnavailableText(pool.lastError));
  return parent;
}

/**
 * Rewrites the cursor of a SCAN reply, `*2` then the cursor as a bulk string then the key array
 * (the same in RESP2 and RESP3). Error replies and replies of another shape come back unchanged.
 */
function replaceCursor(data: Buffer, node: number, nodeCount: number): Buffer {
  if (data.toString('latin1', 0, 5) !== '*2\r\n$') return Buffer.from(data);
  const lengthEnd = data.indexOf('\r\n', 5);
  const length = Number(data.toString('latin1', 5, lengthEnd));
  const cursorStart = lengthEnd + 2;
  const cursor = data.toString('latin1', cursorStart, cursorStart + length);
  if (!DECIMAL.test(cursor)) return Buffer.from(data);
  const next = nextScanCursor(node, BigInt(cursor), nodeCount);
  // Copied, because `data` may be a view of the connection's read buffer.
  return Buffer.concat([Buffer.from('*2\r\n'), encodeBulk(next, 2), data.subarray(cursorStart + length + 2)]);
}
