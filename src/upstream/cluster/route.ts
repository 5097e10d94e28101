/**
 * Routing of one client request in cluster mode, between the session's checks and the upstream.
 * A request's hash slot comes from its keys. A request whose keys share one slot goes to that
 * slot's primary, and keyless requests go to the first seed's pool. Keys in several slots get
 * Redis Cluster's CROSSSLOT error, unless the command is in SPLITTABLE (see split.ts). DBSIZE
 * fans out to every primary.
 *
 * Redirects: a MOVED reply updates the slot map and sends the same bytes to the named node, and
 * an ASK reply sends ASKING and the bytes to the named node, at most MAX_REDIRECTS times.
 */
import { extractKeys } from '../../commands/keys.js';
import type { CommandInfo } from '../../commands/types.js';
import { encodeCommand, encodeError } from '../../resp/encode.js';
import type { ReplySlot } from '../../session/reply-slot.js';
import type { Session } from '../../session/session.js';
import type { UpstreamConnection } from '../connection.js';
import type { ClusterPool } from './cluster-pool.js';
import { keySlot } from './slots.js';
import { fanOut, splitBySlot, SPLITTABLE } from './split.js';

/** Redis Cluster's reply to keys of several slots in one command, as redis-server 7.0.15 words it. */
export const CROSSSLOT_REPLY = encodeError("CROSSSLOT Keys in request don't hash to the same slot");

/** Redirects followed for one request before the client gets the redirect reply itself. */
export const MAX_REDIRECTS = 5;

const ASKING_REQUEST = encodeCommand(['ASKING']);
const MOVED_PREFIX = Buffer.from('-MOVED ');
const ASK_PREFIX = Buffer.from('-ASK ');

/** Commands without keys that read every primary's keyspace and whose integer replies add up. */
const SUMMED_FAN_OUT = new Set(['dbsize']);

/**
 * Forwards a request to the primary of its keys' slot, splits it, fans it out, or rejects it
 * with CROSSSLOT. Returns the slot of the client's reply, or null when the client already got an error.
 */
export function forwardInCluster(session: Session, cluster: ClusterPool, info: CommandInfo, args: readonly Buffer[], request: Buffer): ReplySlot | null {
  const keys = extractKeys(info, args);
  if (keys.length === 0) {
    if (SUMMED_FAN_OUT.has(info.name)) return fanOut(session, info.name, request, cluster.primaryPools());
    return session.forward(info.name, request, 1, cluster.seedPool);
  }
  const slot = keySlot(args[keys[0]!.index]!);
  let sameSlot = true;
  for (let i = 1; i < keys.length && sameSlot; i++) sameSlot = keySlot(args[keys[i]!.index]!) === slot;
  if (sameSlot) return session.forward(info.name, request, 1, cluster.poolForSlot(slot));

  if (SPLITTABLE.has(info.name)) return splitBySlot(session, cluster, info.name, args, keys);
  session.reject(CROSSSLOT_REPLY, info.name, 'rejected');
  return null;
}

/** The target connection and request bytes of a redirected request. */
export interface Resend {
  readonly target: UpstreamConnection;
  readonly request: Buffer;
}

/**
 * Reads a MOVED or ASK reply and prepares the request for the node it names: MOVED also
 * updates the slot map, ASK puts ASKING in front. Returns null when `data` is another error,
 * the redirect limit is reached or the node has no usable connection.
 */
export function followRedirect(cluster: ClusterPool, slot: ReplySlot, data: Buffer, protocol: 2 | 3): Resend | null {
  const moved = startsWith(data, MOVED_PREFIX);
  if (!moved && !startsWith(data, ASK_PREFIX)) return null;
  if (slot.redirects >= MAX_REDIRECTS || slot.request === null) return null;
  // `-MOVED 3999 127.0.0.1:6381\r\n`: the slot, then the address.
  const words = data.toString('latin1', 1, data.length - 2).split(' ');
  if (words.length !== 3) return null;
  const hashSlot = Number(words[1]);
  const address = words[2]!;
  if (!Number.isInteger(hashSlot) || address.lastIndexOf(':') <= 0) return null;

  if (moved) cluster.moved(hashSlot, address);
  const target = cluster.poolFor(address).pick(protocol);
  if (!target) return null;
  slot.redirects += 1;
  // NOTE: requests that the client pipelined behind this one may already have run on the old
  // node, so during a resharding a redirected request can run after a later one.
  if (moved) return { target, request: slot.request };
  slot.asking = true;
  slot.repliesLeft = 2;
  return { target, request: Buffer.concat([ASKING_REQUEST, slot.request]) };
}

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
