/**
 * A client session: one per client connection. It decodes requests, resolves each command,
 * checks it (authentication, ACL, blocklist, connection-state rules), then answers it itself
 * or forwards the exact validated bytes to an upstream connection. Replies go back strictly in
 * request order through a FIFO of reply slots, whatever order they are filled in.
 *
 * Invariants kept here: nothing reaches the upstream before it passed the decoder and every
 * check; a denied command gets its error and the connection stays open; a session sticks to
 * one upstream connection while it has requests in flight, so its commands run in order.
 */
import type net from 'node:net';
import type { AclLog } from '../acl/acl-log.js';
import { isKeyListing, readableKeyFilter } from '../acl/key-listing.js';
import { nopermText } from '../acl/noperm.js';
import { blockedText } from '../acl/blocklist.js';
import type { CompiledUser } from '../acl/types.js';
import { certificateLoginRefusal, certificateUser, passwordLoginRefusal, peerIdentity, type PeerIdentity } from '../auth/admission.js';
import { checkPassword } from '../auth/credentials.js';
import type { CommandTable } from '../commands/table.js';
import { extractKeys } from '../commands/keys.js';
import type { CommandInfo } from '../commands/types.js';
import type { LimitsConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { CommandResult, EventSource, ProxyObserver } from '../observability/observer.js';
import type { Policy } from '../policy.js';
import { ProtocolError, RequestDecoder, type DecodedCommand } from '../resp/request-decoder.js';
import { OK, encodeCommand, encodeError, encodeQuotingError, type Protocol } from '../resp/encode.js';
import { CONNECTION_LOST_REPLY, type UnsolicitedReceiver, type UpstreamConnection } from '../upstream/connection.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { ClusterPool } from '../upstream/cluster/cluster-pool.js';
import type { SentinelPool } from '../upstream/sentinel/sentinel-pool.js';
import { MAX_TRYAGAIN_RETRIES, TRYAGAIN_DELAY_MS, forwardInCluster, followRedirect, isRedirect, isTryAgain, queueInClusterTransaction } from '../upstream/cluster/route.js';
import type { PinnedPool } from '../upstream/pinned-pool.js';
import { filterKeyListingReply } from './key-listing-reply.js';
import { commandTraits, neverForwardedReply, TRAIT_KEY_LISTING, TRAIT_LOCAL, TRAIT_NEVER_FORWARDED, TRAIT_NO_AUTH, TRAIT_STATE_EFFECT } from './command-traits.js';
import { localHandler } from './local-commands.js';
import { ReplySlot, type SlotOwner } from './reply-slot.js';
import { isConfirmation, isMessage, isMonitorLine, confirmationCount } from './pubsub.js';
import { SessionState, type Transaction } from './session-state.js';
import { runStateCommand } from './state-commands.js';
import { stateEffect, type StateEffect } from './stateful.js';
import * as texts from './texts.js';
import { WriteBatch } from '../util/buffers.js';

/** State shared by every session; the server swaps `table` and `policy` as whole objects. */
export interface ProxyContext {
  table: CommandTable;
  policy: Policy;
  readonly pool: UpstreamPool;
  /** Set in cluster mode, where it routes requests by hash slot to the pool of each primary. `pool` is then the first seed's, used only for its server facts. */
  readonly cluster?: ClusterPool;
  /** Set in sentinel mode: follows the primary, whose pool is `pool`, and contains the replica pools. */
  readonly sentinel?: SentinelPool;
  limits: LimitsConfig;
  readonly logger: Logger;
  readonly observer: ProxyObserver;
  /** Recent denials and authentication failures, for ACL LOG. */
  readonly aclLog: AclLog;
  /** Open sessions by id, to map client ids in CLIENT TRACKING REDIRECT and CLIENT UNBLOCK. */
  readonly sessions: ReadonlyMap<number, Session>;
}

/**
 * `process.hrtime`, read once. Node.js 20 defines the global `process` as a getter, which costs a
 * call on every use, and a forwarded command reads the clock three times.
 */
const hrtime = process.hrtime;

const ALWAYS_ALLOWED_BEFORE_AUTH = new Set(['auth', 'hello', 'quit', 'reset']);

/** Commands Redis accepts from a RESP2 client in subscribed mode. */
const ALLOWED_WHILE_SUBSCRIBED = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'ping', 'quit', 'reset']);

/** Commands that run at once inside MULTI instead of being queued, as in Redis. */
const IMMEDIATE_IN_MULTI = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

/**
 * State commands that may be queued in a transaction: blocking commands do not block inside
 * MULTI. Others (SELECT, SUBSCRIBE, CLIENT TRACKING, ...) would change state at EXEC, behind
 * respguard's back, so they abort the transaction instead.
 */
const QUEUEABLE_EFFECTS = new Set<StateEffect>(['blocking']);

/** A request that waits until the session's requests on another upstream connection get their replies. */
interface HeldRequest {
  readonly target: UpstreamConnection;
  readonly request: Buffer;
  readonly slot: ReplySlot;
  /** A request sent again after a MOVED, ASK or TRYAGAIN reply. These stay at the front, in request order. */
  readonly redirect: boolean;
  /** A TRYAGAIN retry whose delay has not passed: it and everything behind it wait. */
  delayed: boolean;
}

export class Session implements SlotOwner, UnsolicitedReceiver {
  protocol: Protocol = 2;
  /** Connection state the client set up: transactions, subscriptions, database, tracking. */
  state = new SessionState();
  /** The upstream connection pinned to this session while `state.needsPin()`. */
  pinned: UpstreamConnection | null = null;
  user: CompiledUser | null = null;
  clientName: Buffer | null = null;
  libName: Buffer | null = null;
  libVersion: Buffer | null = null;
  readonly createdAt = Date.now();

  private readonly decoder: RequestDecoder;
  private readonly logger: Logger;
  private policy: Policy;
  private replyHead: ReplySlot | null = null;
  private replyTail: ReplySlot | null = null;
  /** The connection that carries this session's requests in flight. */
  private upstream: UpstreamConnection | null = null;
  private inFlight = 0;
  /** Requests for another connection than `upstream`, sent once `inFlight` is back to 0. */
  private held: HeldRequest[] = [];
  /** A pinned connection given up while requests on it were in flight. It is released once they get their replies. */
  private retiring: UpstreamConnection | null = null;
  /**
   * Cluster mode: connections pinned on other nodes than `pinned`, by node address, each with
   * the client's CLIENT TRACKING turned on, so that tracking covers keys of every node.
   */
  private readonly nodePins = new Map<string, UpstreamConnection>();
  /** Protocol the pinned connection speaks, which HELLO can change while pinned. */
  private pinnedProtocol: Protocol = 2;
  /** Cluster mode: the hash slot that the pinned connection's WATCH, transaction or shard subscriptions are bound to, null before the first key or channel. */
  clusterSlot: number | null = null;
  /** Cluster mode: the hash slot of the first key of the client's last write command, where WAIT and WAITAOF go; null before one. */
  lastWriteSlot: number | null = null;
  /** The policy in force when the current transaction began. */
  transactionPolicy: Policy | null = null;
  /** RESP2 only: whether the pinned connection is subscribed upstream, from its confirmations. */
  private upstreamSubscribed = false;
  /**
   * Whether MONITOR was sent on the pinned connection, which then streams monitor lines until
   * its RESET. It outlives `state.monitor`, which a RESET from the client clears at once, while
   * lines and replies of earlier requests may still be on their way.
   */
  upstreamMonitoring = false;
  private closing = false;
  private closed = false;
  /** Reply bytes not yet handed to the socket. */
  private readonly outgoing = new WriteBatch();
  /** Whether this session is in `sessionsWithOutput`. */
  private outputQueued = false;
  /** Upstream connections whose write buffer is full: reading waits for their 'drain'. */
  private readonly waitingForUpstream = new Set<UpstreamConnection>();
  /** Start of the command being executed (process.hrtime.bigint), for the time respguard adds. */
  private commandStart = 0n;
  /** Key names of the command being executed, only while the audit stream records them. */
  private commandKeys: readonly string[] | undefined;
  readonly remote: string;
  /** This session as audit lines name it; a plain object, because loggers serialize it whole. */
  private readonly source: EventSource;
  private readonly observer: ProxyObserver;
  private readonly peer: PeerIdentity;
  /** Login method of the current user: its client certificate, or a password (the automatic `default` login counts as one). */
  private loggedInBy: 'certificate' | 'password' = 'password';

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    readonly context: ProxyContext,
    readonly listener: string,
    private readonly onClose: (session: Session) => void,
  ) {
    this.policy = context.policy;
    this.observer = context.observer;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.source = { listener, remote: this.remote, session: id };
    this.peer = peerIdentity(socket);
    this.logger = context.logger.child({ session: id, remote: this.remote, listener });
    this.decoder = new RequestDecoder({
      maxBulkLength: context.limits.maxBulkLength,
      maxMultibulkLength: context.limits.maxMultibulkLength,
      maxQueryBuffer: context.limits.maxQueryBuffer,
    });
    this.resetState();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => this.logger.debug({ error: error.code ?? error.message }, 'client socket error'));
    socket.on('close', () => this.onSocketClose());
    this.observer.clientConnected(listener);
  }

  get userName(): string {
    return this.user?.name ?? 'default';
  }

  /**
   * Returns the session to the state of a new connection: logged in as the user of its verified
   * client certificate, else as the `default` user when the policy allows it, else logged out.
   */
  resetState(): void {
    this.setUser(this.connectionUser());
    this.setProtocol(2);
    this.clientName = null;
    this.state = new SessionState();
    this.unpinIfClear();
  }

  private connectionUser(): CompiledUser | null {
    const policy = this.context.policy;
    const byCertificate = certificateUser(policy, this.peer);
    if (byCertificate) {
      this.observer.authSucceeded(this.source, byCertificate.name, 'certificate');
      this.loggedInBy = 'certificate';
      return byCertificate;
    }
    const refusal = certificateLoginRefusal(policy, this.peer);
    if (refusal) this.observer.authFailed(this.source, undefined, 'certificate', refusal);
    // The `default` user logs new connections in only where a password login as it would be allowed.
    const automatic = policy.autoLogin;
    this.loggedInBy = 'password';
    return automatic && passwordLoginRefusal(policy, automatic.name, this.peer) === null ? automatic : null;
  }

  /** Sets the reply protocol; a pinned connection switches too, behind the requests already sent on it. */
  setProtocol(protocol: Protocol): void {
    this.protocol = protocol;
    if (this.pinned && this.pinnedProtocol !== protocol) {
      this.pinnedProtocol = protocol;
      this.pinned.sendInternal(['HELLO', String(protocol)], () => {});
      for (const connection of this.nodePins.values()) connection.sendInternal(['HELLO', String(protocol)], () => {});
    }
  }

  private setUser(user: CompiledUser | null): void {
    this.user = user;
    this.decoder.authenticated = user !== null;
  }

  /**
   * Checks a password for `userName` in constant time and logs the session in on success.
   * A failed attempt keeps the current login, as in Redis, and is logged without the password.
   */
  authenticate(userName: string, password: Buffer, via: string): boolean {
    const policy = this.context.policy;
    const user = policy.users.get(userName);
    const passwordMatches = user ? checkPassword(user, password) : false;
    const refusal = user && user.enabled && passwordMatches ? passwordLoginRefusal(policy, userName, this.peer) : null;
    if (user && user.enabled && passwordMatches && !refusal) {
      this.setUser(user);
      this.loggedInBy = 'password';
      this.observer.authSucceeded(this.source, userName, via);
      return true;
    }
    let reason = refusal ?? 'password mismatch';
    if (!user) reason = 'unknown user';
    else if (!user.enabled) reason = 'user disabled';
    this.observer.authFailed(this.source, user ? userName : undefined, via, reason);
    this.context.aclLog.addAuthFailure(userName, via, this.describe());
    return false;
  }

  // ---- input ----

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.observer.bytes('in', chunk.length);
    let command: DecodedCommand | null;
    try {
      this.decoder.feed(chunk);
      while (!this.closing && (command = this.decoder.next()) !== null) this.execute(command);
    } catch (error) {
      if (error instanceof ProtocolError) this.onProtocolError(error);
      else this.onInternalError(error);
    }
  }

  /**
   * Closes this session after a bug in respguard threw while it ran a command, so that one
   * client's request cannot stop the process and every other client with it.
   */
  private onInternalError(error: unknown): void {
    this.logger.error({ event: 'internal_error', err: error, session: this.id, user: this.user?.name }, 'internal error while running a command; closing the session');
    this.reply(texts.INTERNAL_ERROR);
    this.closeAfterReplies();
  }

  private onProtocolError(error: ProtocolError): void {
    this.observer.limitDisconnect(this.source, error.kind, this.user?.name);
    if (error.reply === null) {
      this.destroy();
      return;
    }
    this.reply(encodeError(error.reply));
    this.closeAfterReplies();
  }

  private execute(command: DecodedCommand): void {
    this.commandStart = hrtime.bigint();
    const args = command.args;
    const context = this.context;
    if (this.policy !== context.policy && !this.refreshUser()) return;

    const table = context.table;
    const lookup = table.resolve(args);
    this.commandKeys = undefined;
    if (lookup.kind !== 'ok') {
      this.reject(encodeQuotingError(lookup.error), lookup.kind === 'wrong-arity' ? lookup.command.name : 'unknown', 'rejected');
      return;
    }
    const info = lookup.command;
    if (this.observer.auditsKeys) this.commandKeys = extractKeys(info, args).map((key) => args[key.index]!.toString('latin1'));
    const user = this.user;
    if (!user) {
      const base = info.parent ?? info;
      if (!ALWAYS_ALLOWED_BEFORE_AUTH.has(base.name) || !this.runLocal(info, args)) {
        this.reply(texts.NOAUTH);
        this.commandDone(info.name, 'rejected');
        return;
      }
      this.commandDone(info.name, 'allowed');
      return;
    }
    const traits = commandTraits(table, info);
    // Redis skips the ACL check for commands flagged no_auth (AUTH, HELLO, QUIT, RESET).
    if ((traits & TRAIT_NO_AUTH) === 0) {
      const decision = user.check(info, args);
      if (!decision.allowed) {
        this.context.aclLog.addDenial(decision, args, user.name, this.describe());
        if (user.reportOnly) {
          this.observer.commandDenied(this.source, user.name, info.name, `${decision.reason} (report only, forwarded)`);
        } else {
          this.observer.commandDenied(this.source, user.name, info.name, decision.reason);
          this.reject(encodeError(nopermText(decision, user.name)), info.name, 'denied');
          return;
        }
      }
    }
    const base = info.parent ?? info;
    if (this.state.transaction && !IMMEDIATE_IN_MULTI.has(base.name)) {
      this.queueInTransaction(info, args, command.raw);
      return;
    }
    if (this.protocol === 2 && this.state.subscribed && !ALLOWED_WHILE_SUBSCRIBED.has(base.name)) {
      this.reject(texts.notAllowedWhileSubscribed(info.name), info.name, 'rejected');
      return;
    }
    // The blocklist also applies to the commands that respguard replies to itself (ACL LIST,
    // CLIENT SETNAME), except AUTH, HELLO, QUIT and RESET, which Redis runs without an ACL check.
    if ((traits & TRAIT_NO_AUTH) === 0 && this.policy.blocklist.blocks(info)) {
      this.observer.commandBlocked(this.source, user.name, info.name);
      this.reject(encodeError(blockedText(info)), info.name, 'blocked');
      return;
    }
    if ((traits & TRAIT_LOCAL) !== 0 && this.runLocal(info, args)) {
      this.commandDone(info.name, 'allowed');
      return;
    }
    if ((traits & TRAIT_NEVER_FORWARDED) !== 0) {
      this.reject(neverForwardedReply(info)!, info.name, 'rejected');
      return;
    }
    const effect = (traits & TRAIT_STATE_EFFECT) !== 0 ? stateEffect(info, args) : null;
    if (effect && runStateCommand(this, effect, info, args, command.raw)) return;
    const request = command.raw ?? encodeCommand(args);
    const cluster = this.context.cluster;
    const slot = cluster ? forwardInCluster(this, cluster, info, args, request) : this.forward(info.name, request, 1, this.poolFor(info, user));
    if (slot && (traits & TRAIT_KEY_LISTING) !== 0) this.filterKeyListing(slot, user, info, args);
  }

  /**
   * Sentinel mode: a read-only command of a user with `readFromReplicas` goes to a replica with
   * a ready connection, when there is one. Everything else goes to the primary.
   */
  private poolFor(info: CommandInfo, user: CompiledUser): UpstreamPool {
    const sentinel = this.context.sentinel;
    if (!sentinel || this.pinned || !info.flags.has('readonly') || this.policy.userConfigs.get(user.name)?.readFromReplicas !== true) {
      return this.context.pool;
    }
    return sentinel.replicaPool(this.id, this.protocol) ?? this.context.pool;
  }

  /** Makes a SCAN, KEYS or RANDOMKEY reply list only the keys the user may read, unless its config turns that off. */
  private filterKeyListing(slot: ReplySlot, user: CompiledUser, info: CommandInfo, args: readonly Buffer[]): void {
    if (this.policy.userConfigs.get(user.name)?.filterKeyListings === false) return;
    const readable = readableKeyFilter(user, info, args);
    if (!readable) return;
    const protocol = this.protocol;
    slot.transform = (data) => filterKeyListingReply(info.name, data, readable, protocol);
  }

  /** True when the policy changed after a transaction began and one of its queued commands is no longer allowed. */
  policyChangedSinceQueued(transaction: Transaction): boolean {
    if (this.policy === this.transactionPolicy) return false;
    const user = this.user;
    if (!user) return true;
    return transaction.queued.some(({ command, args }) => !user.check(command, args).allowed || this.policy.blocklist.blocks(command));
  }

  /** Replies with an error; inside MULTI the error also makes EXEC abort, as in Redis. */
  reject(reply: Buffer, command: string, result: CommandResult): void {
    if (this.state.transaction) this.state.transaction.dirty = true;
    this.reply(reply);
    this.commandDone(command, result);
  }

  /**
   * Queues a command of a transaction on the pinned connection. Commands that respguard answers
   * itself, or whose state it tracks, cannot be queued upstream, so they abort the transaction.
   */
  private queueInTransaction(info: CommandInfo, args: readonly Buffer[], raw: Buffer | null): void {
    const effect = stateEffect(info, args);
    // A filtered key listing's reply would come back inside EXEC's reply, where it cannot be filtered.
    const filteredListing = isKeyListing(info) && this.policy.userConfigs.get(this.userName)?.filterKeyListings !== false && readableKeyFilter(this.user!, info, args) !== null;
    if (localHandler(info) || neverForwardedReply(info) || filteredListing || (effect !== null && !QUEUEABLE_EFFECTS.has(effect))) {
      this.reject(texts.notSupportedInMulti(info.name), info.name, 'rejected');
      return;
    }
    if (this.policy.blocklist.blocks(info)) {
      this.observer.commandBlocked(this.source, this.userName, info.name);
      this.reject(encodeError(blockedText(info)), info.name, 'blocked');
      return;
    }
    const cluster = this.context.cluster;
    const request = raw ?? encodeCommand(args);
    if (cluster) {
      if (queueInClusterTransaction(this, cluster, info, args, request)) this.state.transaction!.queued.push({ command: info, args });
      return;
    }
    this.state.transaction!.queued.push({ command: info, args });
    this.forward(info.name, request);
  }

  /** Reports a command that was answered without the upstream. */
  commandDone(command: string, result: CommandResult): void {
    const proxyNs = Number(hrtime.bigint() - this.commandStart);
    const user = this.user?.name ?? 'unauthenticated';
    this.observer.commandDone(user, command, result, proxyNs, 0);
    if (this.observer.auditsCommands) this.observer.commandAudited(this.source, user, command, result, proxyNs, 0, this.commandKeys);
  }

  /** Runs a command that respguard answers itself; returns false when `info` is not one of those. */
  private runLocal(info: CommandInfo, args: readonly Buffer[]): boolean {
    const handler = localHandler(info);
    if (!handler) return false;
    return handler(this, args, info) !== false;
  }

  /**
   * Re-reads this session's user from the policy now in force; closes the session when its user
   * was removed or disabled. Returns false when the session was closed.
   */
  refreshUser(): boolean {
    const policy = this.context.policy;
    this.policy = policy;
    if (!this.user) {
      this.setUser(this.connectionUser());
      return true;
    }
    const user = policy.users.get(this.user.name);
    const reason = !user || !user.enabled ? 'user removed or disabled by a reload' : this.revokedByReload(user);
    if (reason !== null) {
      this.logger.warn({ event: 'session_closed', user: this.user.name, reason }, 'closing session');
      this.destroy();
      return false;
    }
    this.setUser(user!);
    return true;
  }

  /**
   * Returns why the new policy no longer lets this session go on as `user`, or null. Like Redis,
   * respguard closes a subscriber whose channels the user may no longer read. It also closes
   * a session the user's admission rules would now reject, and a MONITOR the user may no longer run.
   */
  private revokedByReload(user: CompiledUser): string | null {
    const policy = this.context.policy;
    if (this.loggedInBy === 'certificate' && certificateUser(policy, this.peer)?.name !== user.name) {
      return 'the client certificate no longer logs in as this user after a reload';
    }
    if (this.loggedInBy === 'password') {
      const refusal = passwordLoginRefusal(policy, user.name, this.peer);
      if (refusal !== null) return `${refusal} after a reload`;
    }
    const subscriptions = this.state.subscriptions;
    for (const [kind, command] of [['channel', 'SUBSCRIBE'], ['pattern', 'PSUBSCRIBE'], ['shard', 'SSUBSCRIBE']] as const) {
      if (subscriptions[kind].size === 0) continue;
      if (!this.allowedAfterReload(user, [command, ...subscriptions[kind]])) return `${command.toLowerCase()} channels no longer allowed after a reload`;
    }
    if (this.state.monitor && !this.allowedAfterReload(user, ['MONITOR'])) return 'monitor no longer allowed after a reload';
    return null;
  }

  /** Checks a command given as latin1 strings against the user's rules and the blocklist. */
  private allowedAfterReload(user: CompiledUser, words: readonly string[]): boolean {
    const args = words.map((word) => Buffer.from(word, 'latin1'));
    const lookup = this.context.table.resolve(args);
    if (lookup.kind !== 'ok') return false;
    return (user.reportOnly || user.check(lookup.command, args).allowed) && !this.policy.blocklist.blocks(lookup.command);
  }

  /**
   * Sends a request upstream: on the pinned connection when there is one and `pool` is absent or
   * has the pinned connection's node, else on a shared connection of `pool`. Returns the slot of
   * the reply, or null when no connection could take the request (the client got an error).
   */
  forward(commandName: string, request: Buffer, repliesExpected = 1, pool?: UpstreamPool): ReplySlot | null {
    const target = this.targetFor(pool);
    if (!target) {
      const needsNodePin = this.pinned !== null && pool !== undefined && this.state.keysFollowToOtherNodes;
      this.reply(needsNodePin ? texts.noPinnedConnection(commandName, pool.pinned.maxPinned) : texts.upstreamUnavailableText((pool ?? this.defaultPool()).lastError));
      this.commandDone(commandName, 'upstream_error');
      return null;
    }
    const slot = this.commandSlot(commandName);
    slot.repliesLeft = repliesExpected;
    // One clock reading serves as the end of respguard's part and as the send time.
    const now = hrtime.bigint();
    slot.proxyNs = Number(now - this.commandStart);
    // Cluster mode keeps the bytes, so that a MOVED or ASK reply can send them again elsewhere.
    // A request on the pinned connection keeps its node unless the caller clears its pinnedState.
    if (this.context.cluster) {
      slot.request = request;
      if (this.isPinned(target)) slot.pinnedState = this.state.pinReason();
    }
    this.markSilence(slot);
    this.append(slot);
    this.dispatch(target, request, slot, now);
    return slot;
  }

  /** Creates the slot of a request, recording the user it runs as for the metrics and the audit stream written when its reply arrives. */
  private commandSlot(commandName: string): ReplySlot {
    const slot = new ReplySlot(this);
    slot.command = commandName;
    slot.keys = this.commandKeys;
    slot.user = this.user?.name ?? 'unauthenticated';
    return slot;
  }

  /** Returns the pool for requests that name no node: the upstream's, or in cluster mode the one for keyless requests. */
  private defaultPool(): UpstreamPool {
    return this.context.cluster?.keylessPool() ?? this.context.pool;
  }

  /** Returns the pinned connection when `pool` is absent or has its node, else a shared connection of `pool` (or the default pool). */
  private targetFor(pool: UpstreamPool | undefined): UpstreamConnection | null {
    const pinned = this.pinned;
    if (pinned && (pool === undefined || pool.owns(pinned))) return pinned;
    if (pinned && pool && this.state.keysFollowToOtherNodes) return this.nodePinFor(pool);
    return this.pickFrom(pool ?? this.defaultPool());
  }

  /** True for the pinned connection and the connections pinned on other nodes. */
  private isPinned(connection: UpstreamConnection): boolean {
    return connection === this.pinned || this.isNodePin(connection);
  }

  private isNodePin(connection: UpstreamConnection): boolean {
    return this.nodePins.size > 0 && this.nodePins.get(`${connection.options.host}:${connection.options.port}`) === connection;
  }

  /**
   * Returns the connection pinned on `pool`'s node for keys of that node, pinning one first and
   * sending it the client's CLIENT TRACKING ON. Returns null when the node has no free pinned connection.
   */
  nodePinFor(pool: UpstreamPool): UpstreamConnection | null {
    const existing = this.nodePins.get(pool.address);
    if (existing && existing.state !== 'closed') return existing;
    const connection = pool.pinned.acquire(this.protocol);
    if (!connection) return null;
    this.nodePins.set(pool.address, connection);
    connection.receiver = this;
    connection.once('close', (reason: string) => this.onPinnedClosed(connection, reason));
    const setup = new ReplySlot(this);
    setup.command = 'client|tracking';
    setup.onReply = (data) => {
      if (data[0] !== 0x2d /* '-' */) return;
      // The client's keys of this node would be read without tracking: disconnect it rather than serve stale caches.
      this.logger.warn({ event: 'tracking_setup_failed', node: pool.address, error: data.toString('utf8', 1).trim() }, 'CLIENT TRACKING failed on a cluster node; disconnecting the client');
      this.closeAfterReplies();
    };
    this.dispatch(connection, this.state.trackingRequest!, setup);
    return connection;
  }

  /** Gives back the connections pinned on other nodes that have no request in flight, once the client's state no longer needs them. */
  private releaseNodePins(): void {
    if (this.nodePins.size === 0 || this.state.keysFollowToOtherNodes) return;
    for (const [address, connection] of this.nodePins) {
      const busy = (this.upstream === connection && this.inFlight > 0) || this.held.some((held) => held.target === connection);
      if (busy) continue;
      this.nodePins.delete(address);
      if (this.upstream === connection) this.upstream = null;
      connection.removeAllListeners('close');
      this.pinnedPoolOf(connection).release(connection);
    }
  }

  /** Picks a shared connection of `pool`: the one carrying this session's requests in flight when it can, so that nothing waits. */
  private pickFrom(pool: UpstreamPool): UpstreamConnection | null {
    const current = this.upstream;
    const keep = current && current.state !== 'closed' && this.inFlight > 0 && current !== this.retiring && !this.isNodePin(current) && current.options.protocol === this.protocol && pool.owns(current);
    return keep ? current : pool.pick(this.protocol);
  }

  /** Sends a request now, or holds it while another connection still has requests of this session in flight. */
  private dispatch(target: UpstreamConnection, request: Buffer, slot: ReplySlot, now?: bigint): void {
    if (this.held.length > 0 || (this.inFlight > 0 && this.upstream !== target)) {
      // Waiting for the replies on the other connection keeps this request from running
      // upstream before them.
      this.held.push({ target, request, slot, redirect: false, delayed: false });
      return;
    }
    this.send(target, request, slot, now);
  }

  /** Adds an empty slot to the reply order, for a reply that respguard assembles from several upstream replies. */
  reserveReply(commandName: string): ReplySlot {
    const slot = this.commandSlot(commandName);
    this.markSilence(slot);
    this.append(slot);
    return slot;
  }

  /**
   * Sends one part of a split or fanned-out request to `pool`, in this session's order: on the
   * pinned connection when it has the pool's node. The part's slot is not in the reply order:
   * `onReply` gets its reply. Returns false, sending nothing, when the pool has no usable connection.
   */
  forwardPart(commandName: string, request: Buffer, pool: UpstreamPool, onReply: (data: Buffer) => void): boolean {
    const target = this.targetFor(pool);
    if (!target) return false;
    const slot = this.commandSlot(commandName);
    slot.request = request;
    if (this.isPinned(target) && this.state.keysNeedPin) slot.pinnedState = this.state.pinReason();
    slot.onReply = onReply;
    this.dispatch(target, request, slot);
    return true;
  }

  /** Part of SlotOwner: follows a MOVED or ASK reply by sending the request to the node it names. */
  redirected(slot: ReplySlot, data: Buffer): boolean {
    const cluster = this.context.cluster;
    if (!cluster || this.closed) return false;
    if (slot.pinnedState !== null) {
      // Inside MULTI, Redis flagged the transaction upstream, so EXEC gets EXECABORT.
      if (isRedirect(data)) slot.rewrite = texts.slotMovedWhilePinned(slot.command, slot.pinnedState);
      return false;
    }
    if (isTryAgain(data)) return this.retryLater(slot);
    const resend = followRedirect(cluster, slot, data, this.protocol);
    if (!resend) return false;
    this.queueResend({ target: resend.target, request: resend.request, slot, redirect: true, delayed: false });
    return true;
  }

  /**
   * Sends a request that got TRYAGAIN (keys of one slot on two nodes during a migration) again to
   * the same node after TRYAGAIN_DELAY_MS, at most MAX_TRYAGAIN_RETRIES times, as Redis Cluster
   * clients do. Returns false when the client should get the TRYAGAIN reply.
   */
  private retryLater(slot: ReplySlot): boolean {
    const target = slot.sentTo;
    const request = slot.sentRequest;
    if (slot.retries >= MAX_TRYAGAIN_RETRIES || !target || !request || target.state === 'closed') return false;
    slot.retries += 1;
    if (request !== slot.request) {
      // The last try followed an ASK, so ASKING goes in front again.
      slot.asking = true;
      slot.repliesLeft = 2;
    }
    const node = `${target.options.host}:${target.options.port}`;
    this.logger.debug({ event: 'cluster_tryagain', command: slot.command, node, attempt: slot.retries }, 'retrying a command that got TRYAGAIN during a slot migration');
    const retry: HeldRequest = { target, request, slot, redirect: true, delayed: true };
    this.queueResend(retry);
    setTimeout(() => {
      retry.delayed = false;
      if (!this.closed) this.sendHeld();
    }, TRYAGAIN_DELAY_MS);
    return true;
  }

  /**
   * Queues a request whose reply asked for it to be sent again, and sends what may go now. The
   * reply arrived, so the request is no longer in flight. Requests still in flight were sent
   * after it and may be redirected too: it waits for them, behind earlier redirects and ahead of
   * the requests held after it.
   */
  private queueResend(entry: HeldRequest): void {
    this.inFlight -= 1;
    let at = 0;
    while (at < this.held.length && this.held[at]!.redirect) at += 1;
    this.held.splice(at, 0, entry);
    if (this.inFlight === 0) this.sendHeld();
  }

  /** Sends a request on `target` now. `now` is the current process.hrtime.bigint(), when the caller has read it already. */
  private send(target: UpstreamConnection, request: Buffer, slot: ReplySlot, now = hrtime.bigint()): void {
    this.upstream = target;
    this.inFlight += 1;
    slot.sentAt = now;
    slot.sentTo = target;
    slot.sentRequest = request;
    if (!target.send(request, slot)) {
      if (!this.waitingForUpstream.has(target)) {
        // A connection that closes emits 'drain' first, so the wait never outlives it.
        this.waitingForUpstream.add(target);
        target.once('drain', () => {
          this.waitingForUpstream.delete(target);
          this.resumeIfClear();
        });
      }
      this.socket.pause();
    }
  }

  /** Sends held requests once the connection they waited for has nothing in flight. */
  private sendHeld(): void {
    while (this.held.length > 0) {
      const next = this.held[0]!;
      if (next.delayed || (this.inFlight > 0 && this.upstream !== next.target)) return;
      this.held.shift();
      if (next.target.state === 'closed') {
        // A resent request is not in flight while held, so slotFilled must not count it, and
        // the lost-connection reply has no ASKING reply in front.
        next.slot.sentAt = 0n;
        next.slot.asking = false;
        next.slot.fill(CONNECTION_LOST_REPLY);
        continue;
      }
      this.send(next.target, next.request, next.slot);
    }
  }

  // ---- pinned connection ----

  /**
   * Gives the session an upstream connection of its own, if it has none. Returns false, after
   * replying with an error, when `upstream.pool.maxPinned` connections are already in use.
   */
  pin(commandName: string, pool: UpstreamPool = this.defaultPool()): boolean {
    if (this.pinned) return true;
    const retiring = this.retiring;
    if (retiring && retiring.state !== 'closed') {
      // The connection given up a moment ago still carries requests: take it back rather than a
      // second one, so that a session never holds two.
      this.retiring = null;
      this.pinned = retiring;
      return true;
    }
    const connection = pool.pinned.acquire(this.protocol);
    if (!connection) {
      this.clusterSlot = null;
      if (pool.hasTarget) this.reject(texts.noPinnedConnection(commandName, pool.pinned.maxPinned), commandName, 'rejected');
      else this.reject(texts.upstreamUnavailableText(pool.lastError), commandName, 'upstream_error');
      return false;
    }
    if (connection === this.retiring) this.retiring = null;
    this.pinned = connection;
    this.pinnedProtocol = this.protocol;
    this.upstreamSubscribed = false;
    this.upstreamMonitoring = false;
    connection.receiver = this;
    connection.once('close', (reason: string) => this.onPinnedClosed(connection, reason));
    return true;
  }

  /** Gives up the pinned connection once the session's state no longer needs it. */
  unpinIfClear(): void {
    this.releaseNodePins();
    const pinned = this.pinned;
    if (!pinned || this.state.needsPin()) return;
    this.pinned = null;
    this.clusterSlot = null;
    this.retiring = pinned;
    this.releaseRetiring();
  }

  private releaseRetiring(): void {
    const retiring = this.retiring;
    if (!retiring) return;
    const busy = (this.upstream === retiring && this.inFlight > 0) || this.held.some((held) => held.target === retiring);
    if (busy) return;
    this.retiring = null;
    if (this.upstream === retiring) this.upstream = null;
    retiring.removeAllListeners('close');
    this.pinnedPoolOf(retiring).release(retiring);
  }

  /** Handles a broken pinned connection: the client gets errors for its pending requests, then is disconnected. */
  private onPinnedClosed(connection: UpstreamConnection, reason: string): void {
    const nodePin = this.isNodePin(connection);
    if (this.pinned !== connection && this.retiring !== connection && !nodePin) return;
    this.logger.warn({ event: 'pinned_connection_lost', user: this.user?.name, reason }, 'the upstream connection pinned to this session failed; disconnecting the client');
    if (nodePin) this.nodePins.delete(`${connection.options.host}:${connection.options.port}`);
    if (!nodePin) this.pinned = null;
    if (!nodePin) this.retiring = null;
    this.pinnedPoolOf(connection).release(connection);
    this.sendHeld();
    this.closeAfterReplies();
  }

  /** Returns the pinned pool that handed out `connection`: the one of its node in cluster mode. */
  private pinnedPoolOf(connection: UpstreamConnection): PinnedPool {
    const cluster = this.context.cluster;
    return cluster ? cluster.pinnedPoolOf(connection) : this.context.pool.pinned;
  }

  /** Part of UnsolicitedReceiver: separates pub/sub messages, invalidations and MONITOR lines from replies. */
  isUnsolicited(bytes: Buffer, push: boolean): boolean {
    if (push) return !isConfirmation(bytes);
    if ((this.state.monitor || this.upstreamMonitoring) && isMonitorLine(bytes)) return true;
    if (this.pinnedProtocol !== 2) return false;
    if (this.upstreamSubscribed && isMessage(bytes)) return true;
    if (isConfirmation(bytes)) this.upstreamSubscribed = confirmationCount(bytes) > 0;
    return false;
  }

  /** Part of UnsolicitedReceiver: writes an out-of-band reply to the client at once. */
  unsolicited(bytes: Buffer): void {
    if (this.state.replyMode === 'off') return;
    this.write(bytes);
  }

  // ---- output ----

  /** Queues a reply that respguard made itself, in request order. */
  reply(data: Buffer): void {
    if (this.closed) return;
    if (!this.replyHead) {
      if (!this.consumeSilence()) this.write(data);
      return;
    }
    const slot = new ReplySlot(this);
    slot.data = data;
    this.markSilence(slot);
    this.append(slot);
  }

  /** CLIENT REPLY OFF or SKIP: marks a new slot whose reply the client must not get. */
  private markSilence(slot: ReplySlot): void {
    slot.silent = this.consumeSilence();
  }

  private consumeSilence(): boolean {
    const mode = this.state.replyMode;
    if (mode === 'skip') this.state.replyMode = 'on';
    return mode !== 'on';
  }

  private append(slot: ReplySlot): void {
    if (this.replyTail) this.replyTail.next = slot;
    else this.replyHead = slot;
    this.replyTail = slot;
  }

  slotFilled(slot: ReplySlot): void {
    if (slot.sentAt !== 0n) {
      this.inFlight -= 1;
      const upstreamNs = Number(hrtime.bigint() - slot.sentAt);
      const result: CommandResult = slot.data === CONNECTION_LOST_REPLY ? 'upstream_error' : 'allowed';
      // A later AUTH or RESET, replied to locally, may have changed the session's user since the request left.
      this.observer.commandDone(slot.user, slot.command, result, slot.proxyNs, upstreamNs);
      if (this.observer.auditsCommands) this.observer.commandAudited(this.source, slot.user, slot.command, result, slot.proxyNs, upstreamNs, slot.keys);
      if (this.inFlight === 0) {
        this.sendHeld();
        this.releaseRetiring();
        this.releaseNodePins();
      }
    }
    if (slot === this.replyHead) this.flushReplies();
  }

  private flushReplies(): void {
    let slot = this.replyHead;
    while (slot && slot.data) {
      if (!slot.silent) this.write(slot.data);
      slot.data = null;
      slot = slot.next;
    }
    this.replyHead = slot;
    if (!slot) {
      this.replyTail = null;
      if (this.closing) this.endSocket();
    }
  }

  /**
   * Queues reply bytes for the client. Everything written in one tick goes out in one write, and
   * one nextTick flushes every session that got replies.
   */
  private write(data: Buffer): void {
    // A socket destroyed at a limit is gone at once, before its 'close' event marks the session closed.
    if (this.closed || this.socket.destroyed) return;
    this.observer.bytes('out', data.length);
    this.outgoing.add(data);
    if (!this.outputQueued) {
      this.outputQueued = true;
      queueOutput(this);
    }
  }

  /**
   * Hands the queued reply bytes to the socket. Like Redis, respguard keeps reading a client
   * whose replies pile up (a client may write a whole pipeline before it reads), and bounds the
   * pile with `limits.maxOutputBuffer` instead: past it, the client is disconnected.
   */
  flushOutput(): void {
    this.outputQueued = false;
    if (this.closed || this.socket.destroyed) {
      this.outgoing.clear();
      return;
    }
    if (this.outgoing.writeTo(this.socket)) return;
    if (this.socket.writableLength > this.context.limits.maxOutputBuffer) {
      this.observer.limitDisconnect(this.source, 'output_buffer', this.user?.name);
      this.destroy();
    }
  }

  /**
   * Reads requests again once no upstream connection this session wrote to has a full write
   * buffer. Each connection is one set entry, so any number of refused writes to it is undone
   * by its one 'drain'.
   */
  private resumeIfClear(): void {
    if (this.waitingForUpstream.size > 0 || this.closed) return;
    // A closing session keeps reading (and ignores the bytes), so that it detects when its client leaves.
    this.socket.resume();
  }

  // ---- closing ----

  /** QUIT: reply OK, then close once every earlier reply is written. */
  quit(): void {
    this.reply(OK);
    this.closeAfterReplies();
  }

  closeAfterReplies(): void {
    this.closing = true;
    if (!this.replyHead) this.endSocket();
  }

  /** Ends the connection after the replies already queued, including those not yet handed to the socket. */
  private endSocket(): void {
    if (this.closed) this.outgoing.clear();
    else this.outgoing.writeTo(this.socket);
    this.socket.end();
  }

  /** Graceful stop: reads no more requests, and closes once every reply already owed is written. */
  shutdown(): void {
    // Reading goes on (new requests are ignored while closing), so a client that leaves is seen.
    this.closeAfterReplies();
  }

  /** True when every reply owed was handed to the socket and the socket wrote it. */
  get drained(): boolean {
    return this.closed || (this.replyHead === null && this.outgoing.isEmpty && this.socket.writableLength === 0);
  }

  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    // A pinned connection with requests in flight (a blocked BLPOP) is closed by the pool;
    // one without is reset before another session may use it.
    const connections = [this.pinned, this.retiring, ...this.nodePins.values()];
    this.pinned = null;
    this.retiring = null;
    this.nodePins.clear();
    this.held = [];
    for (const connection of connections) {
      if (!connection) continue;
      connection.removeAllListeners('close');
      this.pinnedPoolOf(connection).release(connection);
    }
    this.observer.clientDisconnected(this.listener);
    this.onClose(this);
  }

  /** Formats this session as one line of Redis's CLIENT INFO output. */
  describe(): string {
    const age = Math.floor((Date.now() - this.createdAt) / 1000);
    const name = this.clientName?.toString('latin1') ?? '';
    return (
      `id=${this.id} addr=${this.remote} laddr=${this.socket.localAddress}:${this.socket.localPort} fd=-1 name=${name} ` +
      `age=${age} idle=0 flags=N db=${this.state.db} sub=${this.state.subscriptions.channel.size} psub=${this.state.subscriptions.pattern.size} ssub=${this.state.subscriptions.shard.size} multi=${this.state.transaction ? this.state.transaction.queued.length : -1} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 ` +
      `obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|info user=${this.userName} redir=-1 resp=${this.protocol}\n`
    );
  }
}

/**
 * Sessions with reply bytes not yet handed to their socket. One upstream read carries replies
 * for many sessions, so one nextTick for all of them costs less than a cork and a nextTick per
 * session.
 */
let sessionsWithOutput: Session[] = [];

function queueOutput(session: Session): void {
  if (sessionsWithOutput.length === 0) process.nextTick(flushSessionOutput);
  sessionsWithOutput.push(session);
}

function flushSessionOutput(): void {
  const sessions = sessionsWithOutput;
  sessionsWithOutput = [];
  for (const session of sessions) session.flushOutput();
}
