/**
 * Multi-key commands across slots in cluster mode. MGET, MSET, DEL, UNLINK, EXISTS and TOUCH
 * are split into one request per slot, because Redis rejects keys of two slots in one request
 * even when one node serves both. Their replies are merged into the one reply the client
 * expects: MGET's values in the client's key order, MSET's +OK, and the sum of the integer
 * replies of the others. Keyless commands that act on the whole keyspace are fanned out to
 * every primary the same way (see FAN_OUT in route.ts).
 *
 * The parts go out through the session in request order, so a client's later requests still
 * run after them. If any part fails, the client gets the first failed part's error, even though
 * other parts may have run (as with a cluster-aware client that splits the same command).
 */
import type { KeyRef } from '../../commands/keys.js';
import { OK, encodeCommand, encodeError, encodeInteger } from '../../resp/encode.js';
import type { ReplySlot } from '../../session/reply-slot.js';
import type { Session } from '../../session/session.js';
import { upstreamUnavailableText } from '../../session/texts.js';
import type { UpstreamPool } from '../pool.js';
import type { ClusterPool } from './cluster-pool.js';
import { keySlot } from './slots.js';

/** Reply when primaries returned different replies to a command that should return the same everywhere. */
const PARTS_DIFFER = encodeError('ERR the cluster primaries returned different replies; run the command again');

/** Commands split per slot when their keys span several slots. */
export const SPLITTABLE = new Set(['mget', 'mset', 'del', 'unlink', 'exists', 'touch']);

/**
 * Merge rule for part replies: values by key position, +OK from all, summed integers, arrays
 * joined, a random non-null reply, one reply that every part returned alike, or the
 * element-wise minimum of integer arrays.
 */
export type MergeKind = 'values' | 'ok' | 'sum' | 'concat' | 'random' | 'same' | 'min';

/** Collects the replies of a request's parts and fills the client's slot once all arrived. */
class MergedReply {
  private readonly parts: (Buffer | null)[];
  private left: number;

  constructor(
    private readonly kind: MergeKind,
    private readonly target: ReplySlot,
    partCount: number,
    /** For 'values': the client's key position of each value of each part. */
    private readonly positions: readonly (readonly number[])[] = [],
  ) {
    this.parts = new Array<Buffer | null>(partCount).fill(null);
    this.left = partCount;
  }

  part(index: number, data: Buffer): void {
    // Copied, because the bytes may be a view of a connection's read buffer.
    this.parts[index] = Buffer.from(data);
    this.left -= 1;
    if (this.left === 0) this.target.fill(this.merge());
  }

  private merge(): Buffer {
    const parts = this.parts as Buffer[];
    if (this.kind === 'random') {
      // RANDOMKEY: a primary without keys replies with a null, which only wins when all do.
      const keys = parts.filter((data) => data[0] === 0x24 /* '$' */ && data[1] !== 0x2d /* '-' */);
      if (keys.length > 0) return keys[Math.floor(Math.random() * keys.length)]!;
    }
    const failed = parts.find((data) => data[0] === 0x2d /* '-' */);
    if (failed) return failed;
    if (this.kind === 'ok') return OK;
    if (this.kind === 'random') return parts[0]!;
    if (this.kind === 'same') {
      const first = parts[0]!;
      return parts.every((data) => data.equals(first)) ? first : PARTS_DIFFER;
    }
    if (this.kind === 'min') return mergeMinimum(parts);
    if (this.kind === 'concat') {
      const elements = parts.flatMap((data) => splitArray(data));
      return Buffer.concat([Buffer.from(`*${elements.length}\r\n`), ...elements]);
    }
    if (this.kind === 'sum') {
      let total = 0;
      for (const data of parts) total += Number(data.toString('latin1', 1, data.length - 2));
      return encodeInteger(total);
    }
    return this.mergeValues(parts);
  }

  private mergeValues(parts: readonly Buffer[]): Buffer {
    const count = this.positions.reduce((sum, positions) => sum + positions.length, 0);
    const values = new Array<Buffer>(count);
    parts.forEach((data, index) => {
      const elements = splitArray(data);
      this.positions[index]!.forEach((position, i) => {
        values[position] = elements[i]!;
      });
    });
    return Buffer.concat([Buffer.from(`*${count}\r\n`), ...values]);
  }
}

/** Merges integer arrays (SCRIPT EXISTS) element by element into their minimum. */
function mergeMinimum(parts: readonly Buffer[]): Buffer {
  const arrays = parts.map((data) => splitArray(data).map((element) => Number(element.toString('latin1', 1, element.length - 2))));
  const minimum = arrays[0]!.map((value, i) => Math.min(value, ...arrays.map((array) => array[i] ?? 0)));
  return Buffer.concat([Buffer.from(`*${minimum.length}\r\n`), ...minimum.map((value) => encodeInteger(value))]);
}

/**
 * Splits an array reply of bulk strings and nulls (MGET's reply in RESP2 or RESP3) into the
 * bytes of each element.
 */
export function splitArray(data: Buffer): Buffer[] {
  let lineEnd = data.indexOf('\r\n');
  const count = Number(data.toString('latin1', 1, lineEnd));
  const elements: Buffer[] = [];
  let offset = lineEnd + 2;
  for (let i = 0; i < count; i++) {
    lineEnd = data.indexOf('\r\n', offset);
    let end = lineEnd + 2;
    if (data[offset] === 0x24 /* '$' */) {
      const length = Number(data.toString('latin1', offset + 1, lineEnd));
      if (length >= 0) end += length + 2;
    }
    elements.push(data.subarray(offset, end));
    offset = end;
  }
  return elements;
}

/**
 * Splits a multi-key request whose keys span several slots into one request per slot, sent in
 * slot order of first appearance. Returns the client's reply slot.
 */
export function splitBySlot(session: Session, cluster: ClusterPool, name: string, args: readonly Buffer[], keys: readonly KeyRef[]): ReplySlot {
  // MSET's keys are followed by their values; the other commands take keys only.
  const width = name === 'mset' ? 2 : 1;
  const groups = new Map<number, { args: Buffer[]; positions: number[] }>();
  keys.forEach((key, position) => {
    const slot = keySlot(args[key.index]!);
    let group = groups.get(slot);
    if (!group) {
      group = { args: [args[0]!], positions: [] };
      groups.set(slot, group);
    }
    for (let i = 0; i < width; i++) group.args.push(args[key.index + i]!);
    group.positions.push(position);
  });

  const parent = session.reserveReply(name);
  let kind: MergeKind = 'sum';
  if (name === 'mget') kind = 'values';
  else if (name === 'mset') kind = 'ok';
  const list = [...groups];
  const merged = new MergedReply(kind, parent, list.length, list.map(([, group]) => group.positions));
  list.forEach(([slot, group], index) => {
    sendPart(session, name, encodeCommand(group.args), cluster.poolForSlot(slot), merged, index);
  });
  return parent;
}

/** Sends the same keyless request to every pool in `pools` and merges their replies by `kind`. */
export function fanOut(session: Session, name: string, request: Buffer, pools: readonly UpstreamPool[], kind: MergeKind): ReplySlot {
  const parent = session.reserveReply(name);
  const merged = new MergedReply(kind, parent, pools.length);
  pools.forEach((pool, index) => sendPart(session, name, request, pool, merged, index));
  return parent;
}

function sendPart(session: Session, name: string, request: Buffer, pool: UpstreamPool, merged: MergedReply, index: number): void {
  const sent = session.forwardPart(name, request, pool, (data) => merged.part(index, data));
  if (!sent) merged.part(index, upstreamUnavailableText(pool.lastError));
}
