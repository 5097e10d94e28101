/**
 * One connection to the upstream Redis. It runs its own init (HELLO with the upstream
 * credentials) before any client request, keeps a FIFO of pending reply slots, and frames
 * replies without decoding them: each whole reply fills the oldest pending slot.
 *
 * Requests sent while the connection is still connecting or initializing wait in the socket's
 * write buffer behind the init commands, so they run only once the connection is authenticated.
 * When the connection breaks, every pending slot gets an error reply at once.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { Logger } from '../observability/logger.js';
import { ReplyFramer } from '../resp/reply-framer.js';
import { encodeCommand, encodeError } from '../resp/encode.js';
import { ReplySlot } from '../session/reply-slot.js';
import { decodeResp2, flatPairsToMap } from './resp2-decode.js';
import { connectUpstream } from './socket.js';

export type ConnectionState = 'connecting' | 'ready' | 'closed';

export interface ConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly protocol: 2 | 3;
  readonly connectTimeoutMs: number;
  readonly maxReplyDepth: number;
  readonly maxBulkLength: number;
  /** Name the connection gives itself upstream (CLIENT SETNAME), to tell respguard's connections apart in CLIENT LIST. */
  readonly clientName: string;
}

/** Facts about the upstream server learned from its HELLO reply. */
export interface ServerFacts {
  readonly version: string;
  readonly mode: string;
  readonly role: string;
}

/** Reply bytes sent to a client whose request was in flight when the connection broke. */
export const CONNECTION_LOST_REPLY = encodeError('ERR upstream connection lost before the reply; the command may or may not have run');

/**
 * Events: 'ready' (ServerFacts, or null for a RESP3 connection) once init succeeded; 'close' (reason: string) exactly once;
 * 'drain' when the socket's write buffer emptied after `send` returned false.
 */
export class UpstreamConnection extends EventEmitter {
  state: ConnectionState = 'connecting';
  /** Pending reply slots, oldest first. */
  private head: ReplySlot | null = null;
  private tail: ReplySlot | null = null;
  pendingCount = 0;
  /** Init replies still to consume before client replies start. */
  private initRepliesLeft = 1;
  private readonly socket: net.Socket;
  private readonly framer: ReplyFramer;
  private corked = false;
  private closeReason = '';

  constructor(
    readonly options: ConnectionOptions,
    private readonly logger: Logger,
  ) {
    super();
    // Every session that waits for this connection's 'drain' adds a listener.
    this.setMaxListeners(0);
    this.framer = new ReplyFramer({ maxDepth: options.maxReplyDepth, maxBulkLength: options.maxBulkLength });
    this.socket = connectUpstream(options);
    this.socket.setTimeout(options.connectTimeoutMs);
    this.socket.once('timeout', () => this.destroy(`connect timed out after ${options.connectTimeoutMs} ms`));
    this.socket.once('connect', () => this.socket.setTimeout(0));
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('drain', () => this.emit('drain'));
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.destroy(error.code ?? error.message));
    this.socket.on('close', () => this.destroy('closed by the upstream'));
    this.socket.write(this.initCommand());
  }

  /** HELLO <protocol> [AUTH user pass] SETNAME name: one round trip that authenticates and picks the protocol. */
  private initCommand(): Buffer {
    const args: string[] = ['HELLO', String(this.options.protocol)];
    if (this.options.password !== undefined && this.options.password !== '') {
      args.push('AUTH', this.options.username ?? 'default', this.options.password);
    }
    args.push('SETNAME', this.options.clientName);
    return encodeCommand(args);
  }

  /** True when the socket's write buffer is over its high-water mark. */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /**
   * Writes one request and queues its slot. Writes within one tick are batched into one
   * syscall with cork/uncork. Returns false when the caller should wait for 'drain'.
   */
  send(request: Buffer, slot: ReplySlot): boolean {
    if (this.state === 'closed') {
      slot.fill(CONNECTION_LOST_REPLY);
      return true;
    }
    slot.upstreamNext = null;
    if (this.tail) this.tail.upstreamNext = slot;
    else this.head = slot;
    this.tail = slot;
    this.pendingCount += 1;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    return this.socket.write(request);
  }

  /** Sends a request whose reply respguard reads itself, such as COMMAND; `callback` gets the reply bytes or an error reply. */
  sendInternal(args: readonly string[], callback: (bytes: Buffer) => void): void {
    const owner = { slotFilled: (slot: ReplySlot) => callback(slot.data ?? CONNECTION_LOST_REPLY) };
    this.send(encodeCommand(args), new ReplySlot(owner));
  }

  /** Send time (process.hrtime.bigint) of the oldest pending request, or 0n when nothing is pending. */
  oldestPendingSince(): bigint {
    return this.head ? this.head.sentAt : 0n;
  }

  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  private onData(chunk: Buffer): void {
    let reply;
    try {
      this.framer.feed(chunk);
      while ((reply = this.framer.next()) !== null) {
        if (reply.push) {
          // Shared connections never subscribe or track, so a push here is unexpected: drop it.
          this.logger.debug({ bytes: reply.bytes.length }, 'dropped an unexpected push message from the upstream');
          continue;
        }
        if (this.initRepliesLeft > 0) {
          this.initRepliesLeft -= 1;
          this.onInitReply(reply.bytes);
          if (this.state === 'closed') return;
          continue;
        }
        this.deliver(reply.bytes);
      }
    } catch (error) {
      this.destroy(`invalid reply from the upstream: ${(error as Error).message}`);
    }
  }

  private deliver(bytes: Buffer): void {
    const slot = this.head;
    if (!slot) {
      this.destroy('the upstream sent a reply nobody asked for');
      return;
    }
    this.head = slot.upstreamNext;
    if (!this.head) this.tail = null;
    slot.upstreamNext = null;
    this.pendingCount -= 1;
    slot.fill(bytes);
  }

  private onInitReply(bytes: Buffer): void {
    if (bytes[0] === 0x2d /* '-' */) {
      const message = bytes.toString('utf8', 1).trim();
      this.destroy(`the upstream rejected respguard's credentials or HELLO: ${message}`);
      return;
    }
    // Only the RESP2 reply is read: redis-parser decodes it, and both replies carry the same facts.
    let facts: ServerFacts | null = null;
    if (this.options.protocol === 2) {
      try {
        const fields = flatPairsToMap(decodeResp2(bytes));
        facts = {
          version: String(fields.get('version') ?? 'unknown'),
          mode: String(fields.get('mode') ?? 'standalone'),
          role: String(fields.get('role') ?? 'master'),
        };
      } catch (error) {
        this.destroy(`invalid HELLO reply from the upstream: ${(error as Error).message}`);
        return;
      }
    }
    this.state = 'ready';
    this.emit('ready', facts);
  }

  /** Closes the connection and fails every pending request. Safe to call more than once. */
  destroy(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.socket.destroy();
    let slot = this.head;
    this.head = this.tail = null;
    this.pendingCount = 0;
    while (slot) {
      const next = slot.upstreamNext;
      slot.upstreamNext = null;
      slot.fill(CONNECTION_LOST_REPLY);
      slot = next;
    }
    this.emit('close', reason);
  }

  get reason(): string {
    return this.closeReason;
  }
}

function uncork(connection: UpstreamConnection): void {
  connection.uncork();
}
