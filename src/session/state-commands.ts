/**
 * Commands that change or hold connection state, run for one session: they pin an upstream
 * connection to the session, run there, and update the state that decides when the connection
 * is given back; or, where the state is the session's own (CLIENT REPLY, CLIENT NO-EVICT) or
 * empty (UNWATCH without WATCH), respguard answers them itself. Nothing here runs on a shared
 * connection, except CLIENT UNBLOCK, whose client id is mapped to an upstream id.
 */
import { isStrictInteger } from '../commands/arg-parsing.js';
import type { CommandInfo } from '../commands/types.js';
import { EMPTY_ARRAY, OK, encodeCommand, encodeError } from '../resp/encode.js';
import type { Session } from './session.js';
import { unsubscribeReplies } from './pubsub.js';
import { subscriptionKind, type StateEffect } from './stateful.js';
import * as texts from './texts.js';
import { pinPoolFor, shardChannelPool, startTransaction } from '../upstream/cluster/route.js';
import type { UpstreamPool } from '../upstream/pool.js';

const SYNTAX_ERROR = encodeError('ERR syntax error');

/**
 * Runs a state command; returns false when the command needs nothing special and takes the
 * normal path (forwarded on the pinned connection if there is one, else on a shared one).
 */
export function runStateCommand(session: Session, effect: StateEffect, command: CommandInfo, args: readonly Buffer[], raw: Buffer | null): boolean {
  const request = raw ?? encodeCommand(args);
  switch (effect) {
    case 'multi':
      if (session.state.transaction) return rejectInTransaction(session, command, texts.NESTED_MULTI);
      if (session.context.cluster && !session.pinned) return deferMulti(session, command);
      return pinAndForward(session, command, request, () => {
        session.state.transaction = { dirty: false, queued: [], deferred: [] };
        session.transactionPolicy = session.context.policy;
      });
    case 'watch': {
      if (session.state.transaction) return rejectInTransaction(session, command, texts.WATCH_IN_MULTI);
      const pool = clusterPinPool(session, command, args, true);
      if (pool === null) return true;
      return pinAndForward(session, command, request, () => {
        session.state.watching = true;
      }, pool);
    }
    case 'exec':
      return exec(session, command, request);
    case 'discard':
    case 'unwatch':
      return endTransaction(session, effect, command, request);
    case 'subscribe': {
      const pool = command.name === 'ssubscribe' ? clusterShardPool(session, command, args) : undefined;
      if (pool === null) return true;
      return subscribe(session, command, args, request, pool);
    }
    case 'unsubscribe':
      return unsubscribe(session, command, args, request);
    case 'monitor':
      return pinAndForward(session, command, request, () => {
        session.state.monitor = true;
        session.upstreamMonitoring = true;
      });
    case 'select':
      return select(session, command, args, request);
    case 'tracking':
      return tracking(session, command, args);
    case 'caching':
      if (!session.state.tracking) session.reject(texts.CACHING_WITHOUT_TRACKING, command.name, 'rejected');
      else session.forward(command.name, request);
      return true;
    case 'unblock':
      return unblock(session, command, args);
    case 'readonly':
      if (session.context.cluster) return clusterReadOnly(session, command);
      return toggle(session, command, request, command.name === 'readonly', (on) => {
        session.state.readOnly = on;
      });
    case 'no-touch':
      return onOff(session, command, args, request, (on) => {
        session.state.noTouch = on;
      });
    case 'no-evict':
      return clientFlag(session, command, args, (on) => {
        session.state.noEvict = on;
      });
    case 'reply':
      return clientReply(session, command, args);
    case 'blocking': {
      const pool = clusterPinPool(session, command, args, false);
      if (pool === null) return true;
      return blocking(session, command, request, pool);
    }
  }
}

/**
 * Replies with Redis's error to MULTI or WATCH inside a transaction. Like Redis, these errors
 * leave the transaction able to run, and the command never reaches a transaction whose MULTI
 * respguard has not sent upstream yet (cluster mode).
 */
function rejectInTransaction(session: Session, command: CommandInfo, reply: Buffer): boolean {
  session.reply(reply);
  session.commandDone(command.name, 'rejected');
  return true;
}

/** Pins a connection, applies the state change and forwards the command there. */
function pinAndForward(session: Session, command: CommandInfo, request: Buffer, apply: () => void, pool?: UpstreamPool): boolean {
  if (!session.pin(command.name, pool)) return true;
  apply();
  session.forward(command.name, request);
  return true;
}

/**
 * Cluster mode: returns the pool of the node of the command's keys, null after a CROSSSLOT
 * rejection, or undefined outside cluster mode (the one upstream pool).
 */
function clusterPinPool(session: Session, command: CommandInfo, args: readonly Buffer[], bind: boolean): UpstreamPool | null | undefined {
  const cluster = session.context.cluster;
  if (!cluster) return undefined;
  return pinPoolFor(session, cluster, command, args, bind);
}

/** Cluster mode: returns the pool of the node of SSUBSCRIBE's channel slot, null after a CROSSSLOT rejection, or undefined outside cluster mode. */
function clusterShardPool(session: Session, command: CommandInfo, args: readonly Buffer[]): UpstreamPool | null | undefined {
  const cluster = session.context.cluster;
  if (!cluster) return undefined;
  return shardChannelPool(session, cluster, command, args.slice(1));
}

/**
 * Cluster mode: MULTI starts the transaction in the session only, because the node is known
 * once the first queued command names a key. That command pins the node and sends MULTI.
 */
function deferMulti(session: Session, command: CommandInfo): boolean {
  session.state.transaction = { dirty: false, queued: [], deferred: [] };
  session.transactionPolicy = session.context.policy;
  session.reply(OK);
  session.commandDone(command.name, 'allowed');
  return true;
}

function exec(session: Session, command: CommandInfo, request: Buffer): boolean {
  const transaction = session.state.transaction;
  const cluster = session.context.cluster;
  if (cluster && transaction && !session.pinned && !transaction.dirty && transaction.deferred.length > 0) {
    // Only keyless commands were queued: any node can run them.
    if (!startTransaction(session, command.name, cluster.keylessPool())) {
      session.state.transaction = null;
      session.unpinIfClear();
      return true;
    }
  }
  if (transaction && !session.pinned) {
    // A deferred MULTI that queued nothing upstream: reply to EXEC as Redis does.
    session.state.transaction = null;
    session.state.watching = false;
    session.clusterSlot = null;
    session.reply(transaction.dirty ? texts.EXECABORT : EMPTY_ARRAY);
    session.commandDone(command.name, transaction.dirty ? 'rejected' : 'allowed');
    return true;
  }
  if (!transaction) {
    if (!session.pinned) {
      session.reject(texts.EXEC_WITHOUT_MULTI, command.name, 'rejected');
      return true;
    }
    session.state.watching = false;
    session.forward(command.name, request);
    endSlotBinding(session);
    return true;
  }
  session.state.transaction = null;
  session.state.watching = false;
  let abort: Buffer | null = transaction.dirty ? texts.EXECABORT : null;
  if (!abort && session.policyChangedSinceQueued(transaction)) abort = texts.EXECABORT_POLICY_CHANGED;
  if (abort) {
    // The upstream queued only the accepted commands: discard them there, and tell the client why.
    const slot = session.forward(command.name, encodeCommand(['DISCARD']));
    if (slot) slot.rewrite = abort;
  } else {
    session.forward(command.name, request);
  }
  endSlotBinding(session);
  return true;
}

/**
 * Cluster mode: after EXEC, DISCARD, UNWATCH or an unsubscribe, frees the session's slot for the
 * next WATCH, transaction or SSUBSCRIBE once none of them uses it, and gives up the pinned
 * connection when no state needs it.
 */
function endSlotBinding(session: Session): void {
  const state = session.state;
  if (!state.transaction && !state.watching && state.subscriptions.shard.size === 0) session.clusterSlot = null;
  session.unpinIfClear();
}

function endTransaction(session: Session, effect: 'discard' | 'unwatch', command: CommandInfo, request: Buffer): boolean {
  if (!session.pinned && effect === 'discard' && session.state.transaction) {
    session.state.transaction = null;
    session.clusterSlot = null;
    session.reply(OK);
    session.commandDone(command.name, 'allowed');
    return true;
  }
  if (!session.pinned) {
    if (effect === 'discard') session.reject(texts.DISCARD_WITHOUT_MULTI, command.name, 'rejected');
    else session.reply(OK);
    return true;
  }
  if (effect === 'discard') session.state.transaction = null;
  session.state.watching = false;
  session.forward(command.name, request);
  endSlotBinding(session);
  return true;
}

function subscribe(session: Session, command: CommandInfo, args: readonly Buffer[], request: Buffer, pool?: UpstreamPool): boolean {
  if (!session.pin(command.name, pool)) return true;
  const subscriptions = session.state.subscriptions[subscriptionKind(command)];
  for (let i = 1; i < args.length; i++) subscriptions.add(args[i]!.toString('latin1'));
  session.forward(command.name, request, args.length - 1);
  return true;
}

function unsubscribe(session: Session, command: CommandInfo, args: readonly Buffer[], request: Buffer): boolean {
  const subscriptions = session.state.subscriptions[subscriptionKind(command)];
  if (!session.pinned) {
    session.reply(unsubscribeReplies(command.name, args.slice(1), session.protocol));
    session.commandDone(command.name, 'allowed');
    return true;
  }
  // Redis answers once per named channel, or once per current subscription (at least once) without names.
  const replies = args.length > 1 ? args.length - 1 : Math.max(1, subscriptions.size);
  if (args.length > 1) for (let i = 1; i < args.length; i++) subscriptions.delete(args[i]!.toString('latin1'));
  else subscriptions.clear();
  session.forward(command.name, request, replies);
  endSlotBinding(session);
  return true;
}

function select(session: Session, command: CommandInfo, args: readonly Buffer[], request: Buffer): boolean {
  // Redis reads the index with string2ll: no leading zeros, no `+`, no `-0`.
  if (!isStrictInteger(args[1]!) || !Number.isSafeInteger(Number(args[1]!.toString('latin1')))) {
    session.reject(texts.NOT_INTEGER, command.name, 'rejected');
    return true;
  }
  const index = Number(args[1]!.toString('latin1'));
  if (session.context.cluster && index !== 0 && index >= -(2 ** 31) && index < 2 ** 31) {
    session.reject(texts.SELECT_IN_CLUSTER, command.name, 'rejected');
    return true;
  }
  if (index < 0 || index >= 2 ** 31) {
    session.reject(texts.DB_OUT_OF_RANGE, command.name, 'rejected');
    return true;
  }
  if (index === 0 && !session.pinned) {
    session.reply(OK);
    session.commandDone(command.name, 'allowed');
    return true;
  }
  if (!session.pin(command.name)) return true;
  // The session counts as on the new database from now on, so that pipelined SELECTs leave it on
  // the last one; an error reply to the latest SELECT puts the previous database back.
  const previous = session.state.db;
  const sequence = ++session.state.selects;
  session.state.db = index;
  const slot = session.forward(command.name, request);
  if (slot) {
    slot.onReply = (reply) => {
      if (reply[0] === 0x2d /* '-' */ && sequence === session.state.selects) session.state.db = previous;
      session.unpinIfClear();
    };
  }
  return true;
}

/**
 * CLIENT TRACKING ON|OFF [REDIRECT id] ...: the redirect target is a respguard client id, which
 * becomes the upstream id of that client's pinned connection (it must be subscribed to receive
 * invalidations, so it has one).
 */
function tracking(session: Session, command: CommandInfo, args: readonly Buffer[]): boolean {
  const mode = args[2]!.toString('latin1').toLowerCase();
  if (mode !== 'on' && mode !== 'off') {
    session.reject(SYNTAX_ERROR, command.name, 'rejected');
    return true;
  }
  if (mode === 'off' && !session.pinned) {
    session.reply(OK);
    session.commandDone(command.name, 'allowed');
    return true;
  }
  const rewritten = [...args];
  for (let i = 3; i < args.length; i++) {
    if (args[i]!.toString('latin1').toLowerCase() !== 'redirect' || i + 1 >= args.length) continue;
    const target = session.context.sessions.get(Number(args[i + 1]!.toString('latin1')));
    const upstreamId = target?.pinned?.facts?.clientId;
    if (!upstreamId) {
      session.reject(texts.NO_SUCH_REDIRECT_CLIENT, command.name, 'rejected');
      return true;
    }
    rewritten[i + 1] = Buffer.from(String(upstreamId));
  }
  if (!session.pin(command.name)) return true;
  const request = encodeCommand(rewritten);
  if (mode === 'on') session.state.tracking = true;
  const redirect = rewritten.some((arg) => arg.toString('latin1').toLowerCase() === 'redirect');
  // Only the latest ON counts, as in Redis; connections already pinned on other nodes keep theirs.
  if (mode === 'on' && session.context.cluster) session.state.trackingRequest = redirect ? null : request;
  const broadcast = rewritten.some((arg) => arg.toString('latin1').toLowerCase() === 'bcast');
  const slot = session.forward(command.name, request);
  if (slot) {
    slot.onReply = (reply) => {
      const ok = reply[0] === 0x2b;
      if (mode === 'on' && !ok) session.state.tracking = false;
      if (mode === 'off' && ok) session.state.tracking = false;
      if (!session.state.tracking) session.state.trackingRequest = null;
      session.unpinIfClear();
      // Only once the first node accepted the options: an invalid request (a PREFIX without its
      // value) must get its error once, not fail on every node and disconnect the client.
      if (ok && mode === 'on' && broadcast) pinEveryNode(session);
    };
  }
  return true;
}

/**
 * CLIENT UNBLOCK id [TIMEOUT|ERROR]: the id is a respguard client id, which becomes the upstream
 * id of that client's pinned connection, where its blocking command waits. Any other id becomes
 * 0, which unblocks nothing, so that no client can unblock another through an upstream id it
 * guessed. A non-integer id takes the normal path and gets Redis's own error.
 */
function unblock(session: Session, command: CommandInfo, args: readonly Buffer[]): boolean {
  if (!isStrictInteger(args[2]!)) return false;
  const target = session.context.sessions.get(Number(args[2]!.toString('latin1')));
  const rewritten = [...args];
  rewritten[2] = Buffer.from(String(target?.pinned?.facts?.clientId ?? 0));
  session.forward(command.name, encodeCommand(rewritten));
  return true;
}

/**
 * Cluster mode: READONLY and READWRITE only allow or stop reads from replicas on the connection,
 * and respguard reads from primaries only, where both change nothing. They get Redis's +OK
 * without pinning a connection.
 */
function clusterReadOnly(session: Session, command: CommandInfo): boolean {
  session.reply(OK);
  session.commandDone(command.name, 'allowed');
  return true;
}

/**
 * Cluster mode, CLIENT TRACKING BCAST: pins a tracking connection on every other primary at
 * once, because broadcast invalidations cover keys that the client never read. Primaries added
 * later get one only when the client's keys reach them.
 */
function pinEveryNode(session: Session): void {
  const cluster = session.context.cluster;
  const pinned = session.pinned;
  if (!cluster || !pinned || !session.state.keysFollowToOtherNodes) return;
  for (const pool of cluster.primaryPools()) {
    if (!pool.owns(pinned)) session.nodePinFor(pool);
  }
}

/** READONLY pins and sets the flag; READWRITE clears it, and without a pinned connection has nothing to clear. */
function toggle(session: Session, command: CommandInfo, request: Buffer, on: boolean, apply: (on: boolean) => void): boolean {
  if (!on && !session.pinned) return false;
  if (!session.pin(command.name)) return true;
  apply(on);
  session.forward(command.name, request);
  session.unpinIfClear();
  return true;
}

/** CLIENT NO-TOUCH ON|OFF: ON pins; OFF without a pinned connection changes nothing upstream. */
function onOff(session: Session, command: CommandInfo, args: readonly Buffer[], request: Buffer, apply: (on: boolean) => void): boolean {
  const value = args[2]!.toString('latin1').toLowerCase();
  if (value !== 'on' && value !== 'off') {
    session.reject(SYNTAX_ERROR, command.name, 'rejected');
    return true;
  }
  if (value === 'off' && !session.pinned) {
    session.reply(OK);
    session.commandDone(command.name, 'allowed');
    return true;
  }
  return toggle(session, command, request, value === 'on', apply);
}

/** CLIENT NO-EVICT ON|OFF: kept per session, because eviction of respguard's own connections is not the client's. */
function clientFlag(session: Session, command: CommandInfo, args: readonly Buffer[], apply: (on: boolean) => void): boolean {
  const value = args[2]!.toString('latin1').toLowerCase();
  if (value !== 'on' && value !== 'off') {
    session.reject(SYNTAX_ERROR, command.name, 'rejected');
    return true;
  }
  apply(value === 'on');
  session.reply(OK);
  session.commandDone(command.name, 'allowed');
  return true;
}

/** CLIENT REPLY ON|OFF|SKIP, kept per session: replies are dropped by respguard, never by the upstream. */
function clientReply(session: Session, command: CommandInfo, args: readonly Buffer[]): boolean {
  const mode = args[2]!.toString('latin1').toLowerCase();
  if (mode === 'on') {
    session.state.replyMode = 'on';
    session.reply(OK);
  } else if (mode === 'off' || mode === 'skip') {
    // Like Redis, OFF and SKIP themselves get no reply.
    session.state.replyMode = mode;
  } else {
    session.reject(SYNTAX_ERROR, command.name, 'rejected');
    return true;
  }
  session.commandDone(command.name, 'allowed');
  return true;
}

/** Runs a blocking command on a pinned connection until its reply, so that it never stalls a shared one. */
function blocking(session: Session, command: CommandInfo, request: Buffer, pool?: UpstreamPool): boolean {
  if (!session.pin(command.name, pool)) return true;
  session.state.blocking += 1;
  const slot = session.forward(command.name, request);
  if (!slot) {
    session.state.blocking -= 1;
    session.unpinIfClear();
    return true;
  }
  slot.onReply = () => {
    session.state.blocking -= 1;
    session.unpinIfClear();
  };
  return true;
}

