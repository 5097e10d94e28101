/**
 * Routing of one client request in cluster mode, between the session's checks and the upstream.
 * A request's hash slot comes from its keys. A request whose keys share one slot goes to that
 * slot's primary, and keyless requests go to the first ready primary (ClusterPool.keylessPool).
 * Keys in several slots get Redis Cluster's CROSSSLOT error, unless the command is in
 * SPLITTABLE (see split.ts). The commands in FAN_OUT go to every primary, and SCAN walks the
 * primaries one after the other (see scan.ts). A session with a pinned connection sends its
 * keyless commands and the keys of the pinned node there, and keys of other nodes to their
 * shared pools. With CLIENT TRACKING (without REDIRECT) those keys go to a connection that the
 * session pins on their node with tracking on instead, and with CLIENT NO-TOUCH or a tracking
 * REDIRECT they get an error.
 *
 * WAIT and WAITAOF go to the node that serves the slot of the client's last write command, the
 * node whose replicas received that write, and to the keyless pool's node before any write.
 *
 * Redirects: a MOVED reply updates the slot map and sends the same bytes to the named node, and
 * an ASK reply sends ASKING and the bytes to the named node, at most MAX_REDIRECTS times.
 */
import { extractKeys, type KeyRef } from '../../commands/keys.js';
import type { CommandInfo } from '../../commands/types.js';
import { QUEUED, encodeCommand, encodeError } from '../../resp/encode.js';
import type { ReplySlot } from '../../session/reply-slot.js';
import type { Session } from '../../session/session.js';
import { keysOnOtherNode } from '../../session/texts.js';
import type { UpstreamConnection } from '../connection.js';
import type { UpstreamPool } from '../pool.js';
import type { ClusterPool } from './cluster-pool.js';
import { SLOT_COUNT, keySlot } from './slots.js';
import { scanInCluster } from './scan.js';
import { fanOut, splitBySlot, SPLITTABLE, type MergeKind } from './split.js';

/** Redis Cluster's reply to keys of several slots in one command, as redis-server 7.0.15 words it. */
export const CROSSSLOT_REPLY = encodeError("CROSSSLOT Keys in request don't hash to the same slot");
const MSET_ARITY_REPLY = encodeError("ERR wrong number of arguments for 'mset' command");

/** Reply to a command that runs on every primary (DBSIZE, KEYS, SCAN), inside MULTI, which runs on one node. */
function fanOutInMulti(name: string): Buffer {
  return encodeError(`ERR '${name}' inside MULTI is not supported by respguard in cluster mode, because it runs on every primary; run it outside the transaction`);
}

/** Redirects followed for one request before the client gets the redirect reply itself. */
export const MAX_REDIRECTS = 5;

/** TRYAGAIN retries of one request before the client gets the TRYAGAIN reply. */
export const MAX_TRYAGAIN_RETRIES = 5;
/** Wait before each TRYAGAIN retry, in milliseconds, so that the migration can move the other keys. */
export const TRYAGAIN_DELAY_MS = 100;

const ASKING_REQUEST = encodeCommand(['ASKING']);
const MULTI_REQUEST = encodeCommand(['MULTI']);
/** requestSlot's result for keys in several slots. */
const CROSS_SLOT = -1;
const MOVED_PREFIX = Buffer.from('-MOVED ');
/** Keyless commands that wait for the replicas of the node of the client's last write. */
const REPLICATION_WAITS = new Set(['wait', 'waitaof']);
/** Key spec flags of keys that a command writes. */
const WRITE_KEY_FLAGS = new Set(['RW', 'OW', 'RM']);
const ASK_PREFIX = Buffer.from('-ASK ');
const TRYAGAIN_PREFIX = Buffer.from('-TRYAGAIN ');

/**
 * Keyless commands that act on every primary's keyspace or scripts, with how their replies
 * merge. KEYS replies are joined in primary order. FLUSHALL and FLUSHDB reply +OK once every
 * primary did. RANDOMKEY returns the key of a random primary that has keys. Scripts and
 * functions are loaded on every primary, so that EVALSHA and FCALL find them on whichever node
 * serves their keys, and SCRIPT EXISTS reports 1 only for a script that every primary has.
 */
const FAN_OUT = new Map<string, MergeKind>([
  ['dbsize', 'sum'],
  ['keys', 'concat'],
  ['flushall', 'ok'],
  ['flushdb', 'ok'],
  ['randomkey', 'random'],
  ['script|load', 'same'],
  ['script|flush', 'ok'],
  ['script|exists', 'min'],
  ['function|load', 'same'],
  ['function|delete', 'ok'],
  ['function|flush', 'ok'],
]);

/** Keyless commands about one hash slot, named by their second argument: they go to the slot's owner. */
const SLOT_ARGUMENT_COMMANDS = new Set(['cluster|countkeysinslot', 'cluster|getkeysinslot']);

/** Returns a slot number argument, or null when it is not a decimal slot number (the node then returns its own error). */
function parseSlot(argument: Buffer): number | null {
  const text = argument.toString('latin1');
  if (!/^[0-9]{1,5}$/.test(text)) return null;
  const slot = Number(text);
  return slot < SLOT_COUNT ? slot : null;
}

/**
 * Forwards a request to the primary of its keys' slot, splits it, fans it out, or rejects it
 * with CROSSSLOT. Returns the slot of the client's reply, or null when the client already got an error.
 */
export function forwardInCluster(session: Session, cluster: ClusterPool, info: CommandInfo, args: readonly Buffer[], request: Buffer): ReplySlot | null {
  const keys = extractKeys(info, args);
  if (keys.length === 0) {
    const fanOutKind = FAN_OUT.get(info.name);
    if (fanOutKind) return fanOut(session, info.name, request, cluster.primaryPools(), fanOutKind);
    if (info.name === 'scan') return scanInCluster(session, cluster, args);
    const slotArgument = SLOT_ARGUMENT_COMMANDS.has(info.name) ? parseSlot(args[2]!) : null;
    if (slotArgument !== null) return session.forward(info.name, request, 1, cluster.poolForSlot(slotArgument));
    // A pinned session's keyless commands (PING, PUBLISH, CLIENT CACHING) run on its own connection.
    return session.forward(info.name, request, 1, session.pinned ? undefined : cluster.keylessPool());
  }
  if (!keysReachPinnedNode(session, cluster, info, args, keys)) return null;
  const slot = slotOfKeys(args, keys);
  if (slot !== CROSS_SLOT) {
    noteWrite(session, info, slot);
    // Keys of another node go to that node's shared connections, and keys of the pinned node to
    // the pinned connection, where a MOVED or ASK reply may move them to another node's shared one.
    const forwarded = session.forward(info.name, request, 1, cluster.poolForSlot(slot));
    if (forwarded && !session.state.keysNeedPin) forwarded.pinnedState = null;
    return forwarded;
  }

  if (SPLITTABLE.has(info.name)) {
    // MSET takes key and value pairs; Redis checks the count itself, after the arity check.
    if (info.name === 'mset' && args.length % 2 === 0) {
      session.reject(MSET_ARITY_REPLY, info.name, 'rejected');
      return null;
    }
    noteWrite(session, info, keySlot(args[keys[0]!.index]!));
    return splitBySlot(session, cluster, info.name, args, keys);
  }
  session.reject(CROSSSLOT_REPLY, info.name, 'rejected');
  return null;
}

/**
 * Records `slot` as the session's last write slot when the command may write: it has the
 * `write` flag, or a key spec that writes (RW, OW or RM), as EVAL and FCALL have. A write split
 * over several slots records the slot of its first key.
 */
function noteWrite(session: Session, info: CommandInfo, slot: number): void {
  if (info.flags.has('write') || info.keySpecs.some((spec) => spec.flags.some((flag) => WRITE_KEY_FLAGS.has(flag)))) session.lastWriteSlot = slot;
}

/**
 * Checks that a command of a session whose state applies to its keys (CLIENT TRACKING with
 * REDIRECT, CLIENT NO-TOUCH) has every key on the pinned connection's node. Returns false
 * after rejecting it.
 */
function keysReachPinnedNode(session: Session, cluster: ClusterPool, info: CommandInfo, args: readonly Buffer[], keys: readonly KeyRef[]): boolean {
  const pinned = session.pinned;
  if (!pinned || !session.state.keysNeedPin || session.state.keysFollowToOtherNodes) return true;
  // TODO(cluster): pin a connection with CLIENT NO-TOUCH on each node that the keys need, as
  // for CLIENT TRACKING without REDIRECT.
  if (keys.every((key) => cluster.poolForSlot(keySlot(args[key.index]!)).owns(pinned))) return true;
  session.reject(keysOnOtherNode(info.name, session.state.pinReason()), info.name, 'rejected');
  return false;
}

/** True for Redis Cluster's TRYAGAIN error reply: the keys of a multi-key request are on two nodes during a migration. */
export function isTryAgain(data: Buffer): boolean {
  return startsWith(data, TRYAGAIN_PREFIX);
}

/** True for a MOVED or ASK error reply. */
export function isRedirect(data: Buffer): boolean {
  return startsWith(data, MOVED_PREFIX) || startsWith(data, ASK_PREFIX);
}

/** Returns the slot shared by `keys`, or CROSS_SLOT when they span several. */
function slotOfKeys(args: readonly Buffer[], keys: readonly KeyRef[]): number {
  const slot = keySlot(args[keys[0]!.index]!);
  for (let i = 1; i < keys.length; i++) if (keySlot(args[keys[i]!.index]!) !== slot) return CROSS_SLOT;
  return slot;
}

/** Returns the slot of the request's keys, null for a keyless request, or CROSS_SLOT. */
function requestSlot(info: CommandInfo, args: readonly Buffer[]): number | null {
  const keys = extractKeys(info, args);
  return keys.length === 0 ? null : slotOfKeys(args, keys);
}

/**
 * Chooses the node whose pinned pool serves a state command (WATCH, a blocking command, a
 * command queued in MULTI): the primary of its keys' slot, or for a keyless one the keyless
 * pool's node, except that WAIT and WAITAOF go to the primary of the session's last write slot.
 * Returns null after rejecting the command with CROSSSLOT when its keys span slots or, with
 * `bind`, differ from the slot of the session's WATCH or transaction, and with a clear error
 * when the session is pinned to another node. `bind` makes the slot the session's transaction slot.
 */
export function pinPoolFor(session: Session, cluster: ClusterPool, info: CommandInfo, args: readonly Buffer[], bind: boolean): UpstreamPool | null {
  const slot = requestSlot(info, args);
  if (slot === CROSS_SLOT || (bind && slot !== null && session.clusterSlot !== null && slot !== session.clusterSlot)) {
    session.reject(CROSSSLOT_REPLY, info.name, 'rejected');
    return null;
  }
  if (slot === null) {
    const lastWrite = session.lastWriteSlot;
    return REPLICATION_WAITS.has(info.name) && lastWrite !== null ? cluster.poolForSlot(lastWrite) : cluster.keylessPool();
  }
  noteWrite(session, info, slot);
  const pool = cluster.poolForSlot(slot);
  if (!pinnedOn(session, pool, info)) return null;
  if (bind) session.clusterSlot = slot;
  return pool;
}

/** Checks that the session has no pinned connection or has it on `pool`'s node; returns false after rejecting the command. */
function pinnedOn(session: Session, pool: UpstreamPool, info: CommandInfo): boolean {
  const pinned = session.pinned;
  if (!pinned || pool.owns(pinned)) return true;
  session.reject(keysOnOtherNode(info.name, session.state.pinReason()), info.name, 'rejected');
  return false;
}

/**
 * Chooses the node for SSUBSCRIBE: the primary of its channels' slot, which must be one slot
 * and, once the session holds shard subscriptions, the slot of those. Returns null after
 * rejecting the command with CROSSSLOT.
 */
export function shardChannelPool(session: Session, cluster: ClusterPool, info: CommandInfo, channels: readonly Buffer[]): UpstreamPool | null {
  const slot = keySlot(channels[0]!);
  const bound = session.clusterSlot;
  if (channels.some((channel) => keySlot(channel) !== slot) || (bound !== null && bound !== slot)) {
    session.reject(CROSSSLOT_REPLY, info.name, 'rejected');
    return null;
  }
  // NOTE: stricter than Redis, which also accepts a second slot served by the same node. A
  // session already pinned for other state (SUBSCRIBE, WATCH) keeps that node, and a channel of
  // another node's slot gets an error.
  const pool = cluster.poolForSlot(slot);
  if (!pinnedOn(session, pool, info)) return null;
  session.clusterSlot = slot;
  return pool;
}

/**
 * Queues a command of a transaction in cluster mode, where the transaction's node is the node of
 * its first command with keys. Keyless commands before that one get +QUEUED from respguard and
 * wait in the transaction. The first command with keys pins its slot's node and sends MULTI and
 * the waiting commands there. Later keys of another slot get CROSSSLOT, which makes EXEC fail.
 * Returns false when the command was rejected.
 */
export function queueInClusterTransaction(session: Session, cluster: ClusterPool, info: CommandInfo, args: readonly Buffer[], request: Buffer): boolean {
  if (FAN_OUT.has(info.name) || info.name === 'scan') {
    session.reject(fanOutInMulti(info.name), info.name, 'rejected');
    return false;
  }
  const transaction = session.state.transaction!;
  if (!session.pinned && requestSlot(info, args) === null) {
    transaction.deferred.push({ name: info.name, request: Buffer.from(request) });
    session.reply(QUEUED);
    session.commandDone(info.name, 'allowed');
    return true;
  }
  const pool = pinPoolFor(session, cluster, info, args, true);
  if (!pool) return false;
  if (!session.pinned && !startTransaction(session, info.name, pool)) return false;
  session.forward(info.name, request);
  return true;
}

/**
 * Pins a connection of `pool`'s node for a transaction that respguard opened for the client
 * (which already got MULTI's +OK), and sends MULTI and the deferred keyless commands there with
 * their replies hidden. Returns false when the client got an error instead.
 */
export function startTransaction(session: Session, commandName: string, pool: UpstreamPool): boolean {
  if (!session.pin(commandName, pool)) return false;
  const transaction = session.state.transaction!;
  const requests = [{ name: 'multi', request: MULTI_REQUEST }, ...transaction.deferred];
  transaction.deferred.length = 0;
  for (const { name, request } of requests) {
    const slot = session.forward(name, request);
    if (!slot) {
      // The transaction is incomplete upstream, so EXEC must not run it.
      transaction.dirty = true;
      return false;
    }
    slot.silent = true;
  }
  return true;
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
  cluster.countRedirect(moved ? 'moved' : 'ask', address);
  slot.redirects += 1;
  // NOTE: requests of other slots that the client pipelined behind this one may already have
  // run on the old node, so during a resharding a redirected request can run after them.
  if (moved) return { target, request: slot.request };
  slot.asking = true;
  slot.repliesLeft = 2;
  return { target, request: Buffer.concat([ASKING_REQUEST, slot.request]) };
}

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}
