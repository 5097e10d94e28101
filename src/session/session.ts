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
import { nopermText } from '../acl/noperm.js';
import { blockedText } from '../acl/blocklist.js';
import type { CompiledUser } from '../acl/types.js';
import { certificateUser, passwordLoginRefusal, peerIdentity, type PeerIdentity } from '../auth/admission.js';
import { checkPassword } from '../auth/credentials.js';
import type { CommandTable } from '../commands/table.js';
import type { CommandInfo } from '../commands/types.js';
import type { LimitsConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { CommandResult, EventSource, ProxyObserver } from '../observability/observer.js';
import type { Policy } from '../policy.js';
import { ProtocolError, RequestDecoder, type DecodedCommand } from '../resp/request-decoder.js';
import { OK, encodeCommand, encodeError, type Protocol } from '../resp/encode.js';
import { CONNECTION_LOST_REPLY, type UpstreamConnection } from '../upstream/connection.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { localHandler } from './local-commands.js';
import { ReplySlot, type SlotOwner } from './reply-slot.js';
import { needsOwnConnection } from './stateful.js';
import * as texts from './texts.js';

/** State shared by every session; the server swaps `table` and `policy` as whole objects. */
export interface ProxyContext {
  table: CommandTable;
  policy: Policy;
  readonly pool: UpstreamPool;
  readonly limits: LimitsConfig;
  readonly logger: Logger;
  readonly observer: ProxyObserver;
}

const ALWAYS_ALLOWED_BEFORE_AUTH = new Set(['auth', 'hello', 'quit', 'reset']);

export class Session implements SlotOwner {
  protocol: Protocol = 2;
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
  private upstream: UpstreamConnection | null = null;
  private inFlight = 0;
  private closing = false;
  private closed = false;
  private corked = false;
  private pausedFor = 0;
  /** Start of the command being executed (process.hrtime.bigint), for the time respguard adds. */
  private commandStart = 0n;
  readonly remote: string;
  /** This session as audit lines name it; a plain object, because loggers serialize it whole. */
  private readonly source: EventSource;
  private readonly observer: ProxyObserver;
  private readonly peer: PeerIdentity;

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
    socket.on('drain', () => this.resume());
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
    this.protocol = 2;
    this.clientName = null;
  }

  private connectionUser(): CompiledUser | null {
    const policy = this.context.policy;
    const byCertificate = certificateUser(policy, this.peer);
    if (byCertificate) {
      this.observer.authSucceeded(this.source, byCertificate.name, 'certificate');
      return byCertificate;
    }
    return policy.autoLogin;
  }

  setProtocol(protocol: Protocol): void {
    this.protocol = protocol;
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
      this.observer.authSucceeded(this.source, userName, via);
      return true;
    }
    let reason = refusal ?? 'password mismatch';
    if (!user) reason = 'unknown user';
    else if (!user.enabled) reason = 'user disabled';
    this.observer.authFailed(this.source, user ? userName : undefined, via, reason);
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
      if (!(error instanceof ProtocolError)) throw error;
      this.onProtocolError(error);
    }
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
    this.commandStart = process.hrtime.bigint();
    const args = command.args;
    const context = this.context;
    if (this.policy !== context.policy && !this.refreshUser()) return;

    const lookup = context.table.resolve(args);
    if (lookup.kind !== 'ok') {
      this.reply(encodeError(lookup.error));
      this.commandDone(lookup.kind === 'wrong-arity' ? lookup.command.name : 'unknown', 'rejected');
      return;
    }
    const info = lookup.command;
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
    // Redis skips the ACL check for commands flagged no_auth (AUTH, HELLO, QUIT, RESET).
    if (!info.flags.has('no_auth')) {
      const decision = user.check(info, args);
      if (!decision.allowed) {
        if (user.reportOnly) {
          this.observer.commandDenied(this.source, user.name, info.name, `${decision.reason} (report only, forwarded)`);
        } else {
          this.observer.commandDenied(this.source, user.name, info.name, decision.reason);
          this.reply(encodeError(nopermText(decision, user.name)));
          this.commandDone(info.name, 'denied');
          return;
        }
      }
    }
    if (this.runLocal(info, args)) {
      this.commandDone(info.name, 'allowed');
      return;
    }
    if (this.policy.blocklist.blocks(info)) {
      this.observer.commandBlocked(this.source, user.name, info.name);
      this.reply(encodeError(blockedText(info)));
      this.commandDone(info.name, 'blocked');
      return;
    }
    if (needsOwnConnection(info, args)) {
      this.reply(texts.needsOwnConnectionText(info.name));
      this.commandDone(info.name, 'rejected');
      return;
    }
    this.forward(info.name, command.raw ?? encodeCommand(args));
  }

  /** Reports a command that was answered without the upstream. */
  private commandDone(command: string, result: CommandResult): void {
    const proxyNs = Number(process.hrtime.bigint() - this.commandStart);
    this.observer.commandDone(this.user?.name ?? 'unauthenticated', command, result, proxyNs, 0);
  }

  /** Runs a command that respguard answers itself; returns false when `info` is not one of those. */
  private runLocal(info: CommandInfo, args: readonly Buffer[]): boolean {
    const handler = localHandler(info);
    if (!handler) return false;
    return handler(this, args, info) !== false;
  }

  /** Re-reads this session's user from a new policy; closes the session when the user is gone or disabled. */
  private refreshUser(): boolean {
    const policy = this.context.policy;
    this.policy = policy;
    if (!this.user) {
      this.setUser(this.connectionUser());
      return true;
    }
    const user = policy.users.get(this.user.name);
    if (!user || !user.enabled) {
      this.logger.warn({ event: 'session_closed', user: this.user.name, reason: 'user removed or disabled by a reload' }, 'closing session');
      this.destroy();
      return false;
    }
    this.setUser(user);
    return true;
  }

  private forward(commandName: string, request: Buffer): void {
    let upstream = this.upstream;
    if (this.inFlight === 0 || !upstream || upstream.state === 'closed') {
      upstream = this.context.pool.pick(this.protocol);
      this.upstream = upstream;
    }
    if (!upstream) {
      this.reply(texts.upstreamUnavailableText(this.context.pool.lastError));
      this.commandDone(commandName, 'upstream_error');
      return;
    }
    const slot = new ReplySlot(this);
    slot.command = commandName;
    slot.sentAt = process.hrtime.bigint();
    slot.proxyNs = Number(slot.sentAt - this.commandStart);
    this.append(slot);
    this.inFlight += 1;
    if (!upstream.send(request, slot)) {
      this.pause();
      upstream.once('drain', () => this.resume());
    }
  }

  // ---- output ----

  /** Queues a reply that respguard made itself, in request order. */
  reply(data: Buffer): void {
    if (this.closed) return;
    if (!this.replyHead) {
      this.write(data);
      return;
    }
    const slot = new ReplySlot(this);
    slot.data = data;
    this.append(slot);
  }

  private append(slot: ReplySlot): void {
    if (this.replyTail) this.replyTail.next = slot;
    else this.replyHead = slot;
    this.replyTail = slot;
  }

  slotFilled(slot: ReplySlot): void {
    if (slot.sentAt !== 0n) {
      this.inFlight -= 1;
      const upstreamNs = Number(process.hrtime.bigint() - slot.sentAt);
      const result: CommandResult = slot.data === CONNECTION_LOST_REPLY ? 'upstream_error' : 'allowed';
      this.observer.commandDone(this.user?.name ?? 'unauthenticated', slot.command, result, slot.proxyNs, upstreamNs);
    }
    if (slot === this.replyHead) this.flushReplies();
  }

  private flushReplies(): void {
    let slot = this.replyHead;
    while (slot && slot.data) {
      this.write(slot.data);
      slot.data = null;
      slot = slot.next;
    }
    this.replyHead = slot;
    if (!slot) {
      this.replyTail = null;
      if (this.closing) this.socket.end();
    }
  }

  private write(data: Buffer): void {
    if (this.closed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncorkSession, this);
    }
    this.observer.bytes('out', data.length);
    if (!this.socket.write(data)) {
      if (this.socket.writableLength > this.context.limits.maxOutputBuffer) {
        this.observer.limitDisconnect(this.source, 'output_buffer', this.user?.name);
        this.destroy();
        return;
      }
      this.pause();
    }
  }

  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  /** Stops reading requests until every reason to pause is gone. */
  private pause(): void {
    if (this.pausedFor === 0) this.socket.pause();
    this.pausedFor += 1;
  }

  private resume(): void {
    if (this.pausedFor === 0) return;
    this.pausedFor -= 1;
    if (this.pausedFor === 0 && !this.closed) this.socket.resume();
  }

  // ---- closing ----

  /** QUIT: reply OK, then close once every earlier reply is written. */
  quit(): void {
    this.reply(OK);
    this.closeAfterReplies();
  }

  private closeAfterReplies(): void {
    this.closing = true;
    if (!this.replyHead) this.socket.end();
  }

  /** Graceful stop: reads no more requests, and closes once every reply already owed is written. */
  shutdown(): void {
    this.socket.pause();
    this.closeAfterReplies();
  }

  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.observer.clientDisconnected(this.listener);
    this.onClose(this);
  }

  /** Formats this session as one line of Redis's CLIENT INFO output. */
  describe(): string {
    const age = Math.floor((Date.now() - this.createdAt) / 1000);
    const name = this.clientName?.toString('latin1') ?? '';
    return (
      `id=${this.id} addr=${this.remote} laddr=${this.socket.localAddress}:${this.socket.localPort} fd=-1 name=${name} ` +
      `age=${age} idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 ` +
      `obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|info user=${this.userName} redir=-1 resp=${this.protocol}\n`
    );
  }
}

function uncorkSession(session: Session): void {
  session.uncork();
}
