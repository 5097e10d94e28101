/**
 * One connection to the upstream Redis. It runs its own init (HELLO with the upstream
 * credentials) before any client request, keeps a FIFO of pending reply slots, and frames
 * replies without decoding them: each whole reply fills the oldest pending slot.
 *
 * Requests sent while the connection is still connecting or initializing wait in the socket's
 * write buffer behind the init commands, so they run only once the connection is authenticated.
 * When the connection breaks, every pending slot gets an error reply at once. A retired
 * connection (its upstream stopped being the primary) sends nothing more and closes once the
 * requests already sent got their replies.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { UpstreamTlsConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { ReplyFramer } from '../resp/reply-framer.js';
import { encodeCommand, encodeError } from '../resp/encode.js';
import { ReplySlot } from '../session/reply-slot.js';
import { upstreamUnavailableText } from '../session/texts.js';
import { decodeReply } from '../resp/reply-value.js';
import { connectUpstream } from './socket.js';
import { WriteBatch } from '../util/buffers.js';

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
  /** TLS to the upstream; absent means plain TCP. */
  readonly tls?: UpstreamTlsConfig;
  /** The config field of `tls`, for error messages; absent means `upstream.tls`. */
  readonly tlsField?: string;
  /**
   * The server and the config fields of its credentials, for the error when it rejects them,
   * such as "the sentinel 10.0.0.9:26379" and "upstream.sentinel.password". Absent means "the
   * upstream" with no field named.
   */
  readonly credentials?: { readonly server: string; readonly field: string };
}

/** Facts about the upstream server learned from its HELLO reply. */
export interface ServerFacts {
  readonly version: string;
  readonly mode: string;
  readonly role: string;
  /** The upstream's client id of this connection. */
  readonly clientId: number;
}

/**
 * Takes replies that answer no request of this connection: pub/sub messages, tracking
 * invalidations and MONITOR lines on a connection pinned to one session.
 */
export interface UnsolicitedReceiver {
  /** True when this whole reply is out of band; `push` tells a RESP3 push apart. */
  isUnsolicited(bytes: Buffer, push: boolean): boolean;
  unsolicited(bytes: Buffer): void;
}

/** Reply bytes sent to a client whose request was in flight when the connection broke. */
export const CONNECTION_LOST_REPLY = encodeError('ERR upstream connection lost before the reply; the command may or may not have run');

/** Start of the error a replica sends for a write: the node is no longer the primary. */
const READONLY_PREFIX = Buffer.from('-READONLY ');

/**
 * Events: 'ready' (ServerFacts) once init succeeded; 'close' (reason: string) exactly once;
 * 'drain' when the socket's write buffer emptied after `send` returned false; 'readonly' when
 * the upstream replied to a request with a READONLY error.
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
  /** Requests written since the last flush, sent together at the end of the event loop turn. */
  private readonly batch = new WriteBatch();
  private flushScheduled = false;
  /** Bytes queued for the socket (batch and write buffer) above which `send` returns false. */
  private readonly maxQueuedBytes: number;
  /** A send returned false: some session waits for this connection's 'drain'. */
  private senderWaits = false;
  private closeReason = '';
  /** Set by `retire`: the reply that requests sent from now on get instead of being sent. */
  private retiredReply: Buffer | null = null;
  facts: ServerFacts | null = null;
  /** Set while the connection is pinned to a session that expects out-of-band replies. */
  receiver: UnsolicitedReceiver | null = null;

  constructor(
    readonly options: ConnectionOptions,
    private readonly logger: Logger,
  ) {
    super();
    // Every session that waits for this connection's 'drain' adds a listener.
    this.setMaxListeners(0);
    this.framer = new ReplyFramer({ maxDepth: options.maxReplyDepth, maxBulkLength: options.maxBulkLength });
    this.socket = connectUpstream(options);
    this.maxQueuedBytes = this.socket.writableHighWaterMark * 64;
    this.socket.setTimeout(options.connectTimeoutMs);
    this.socket.once('timeout', () => this.destroy(`connect timed out after ${options.connectTimeoutMs} ms`));
    this.socket.once('connect', () => this.socket.setTimeout(0));
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('drain', () => this.emitDrain());
    this.socket.on('error', (error: NodeJS.ErrnoException) => this.destroy(error.code ?? error.message));
    this.socket.on('close', () => this.destroy('closed by the upstream'));
    this.socket.write(this.initCommand());
  }

  /** HELLO <protocol> [AUTH user pass] SETNAME name: one round trip that authenticates and picks the protocol. */
  initCommand(): Buffer {
    const args: string[] = ['HELLO', String(this.options.protocol)];
    if (this.options.password !== undefined && this.options.password !== '') {
      args.push('AUTH', this.options.username ?? 'default', this.options.password);
    }
    args.push('SETNAME', this.options.clientName);
    return encodeCommand(args);
  }

  /**
   * Queues one request and its slot. Requests from every client read in the same event loop
   * turn go out together in one write (setImmediate runs after all the I/O callbacks of the
   * turn), which cuts write syscalls on both sides. Returns false when the caller should wait
   * for 'drain'.
   */
  send(request: Buffer, slot: ReplySlot): boolean {
    if (this.state === 'closed' || this.retiredReply !== null) {
      slot.fill(this.retiredReply ?? CONNECTION_LOST_REPLY);
      return true;
    }
    slot.upstreamNext = null;
    if (this.tail) this.tail.upstreamNext = slot;
    else this.head = slot;
    this.tail = slot;
    this.pendingCount += 1;
    this.batch.add(request);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(flushBatch, this);
    }
    const accepted = this.batch.bytes + this.socket.writableLength < this.maxQueuedBytes;
    if (!accepted) this.senderWaits = true;
    return accepted;
  }

  /** Writes the batch: small batches as one copied buffer, large ones as a writev of the parts. */
  flush(): void {
    this.flushScheduled = false;
    if (this.batch.isEmpty || this.state === 'closed') return;
    this.batch.writeTo(this.socket);
    // The kernel may take the whole batch at once, and then the socket never emits 'drain'.
    if (this.senderWaits && !this.socket.writableNeedDrain) this.emitDrain();
  }

  /** Tells waiting senders that they may send again. */
  private emitDrain(): void {
    if (!this.senderWaits) return;
    this.senderWaits = false;
    this.emit('drain');
  }

  /** Sends a request whose reply respguard reads itself, such as COMMAND; `callback` gets the reply bytes or an error reply. */
  sendInternal(args: readonly string[], callback: (bytes: Buffer) => void): void {
    const owner = { slotFilled: (slot: ReplySlot) => callback(slot.data ?? CONNECTION_LOST_REPLY) };
    const slot = new ReplySlot(owner);
    // Stamped so that oldestPendingSince also reports an internal request that gets no reply.
    slot.sentAt = process.hrtime.bigint();
    this.send(encodeCommand(args), slot);
  }

  /**
   * Returns the connection to the state of a new one, for reuse by another session: RESET
   * (which also logs the connection out upstream), then the init HELLO again. `done` gets
   * true when both succeeded.
   */
  resetForReuse(done: (ok: boolean) => void): void {
    this.receiver = null;
    let resetOk = false;
    this.sendInternal(['RESET'], (bytes) => {
      resetOk = bytes.toString('latin1') === '+RESET\r\n';
    });
    const owner = { slotFilled: (slot: ReplySlot) => done(resetOk && slot.data !== null && slot.data[0] !== 0x2d) };
    this.send(this.initCommand(), new ReplySlot(owner));
  }

  /**
   * Stops sending on this connection: later requests get an error reply naming `reason` without
   * reaching the upstream, while those already sent still get their replies. The connection
   * closes once the last of them arrived, or after `timeoutMs`.
   */
  retire(reason: string, timeoutMs: number): void {
    if (this.state === 'closed' || this.retiredReply !== null) return;
    this.retiredReply = upstreamUnavailableText(`${reason}; the command did not run`);
    if (this.pendingCount === 0) {
      this.destroy(reason);
      return;
    }
    const timer = setTimeout(() => this.destroy(`${reason}; replies still missing after ${timeoutMs} ms`), timeoutMs);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  }

  /** Send time (process.hrtime.bigint) of the oldest pending request, or 0n when nothing is pending. */
  oldestPendingSince(): bigint {
    return this.head ? this.head.sentAt : 0n;
  }

  private onData(chunk: Buffer): void {
    let reply;
    try {
      this.framer.feed(chunk);
      while ((reply = this.framer.next()) !== null) {
        const receiver = this.receiver;
        if (receiver && receiver.isUnsolicited(reply.bytes, reply.push)) {
          receiver.unsolicited(reply.bytes);
          continue;
        }
        if (reply.push && !receiver) {
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
    if (this.retiredReply !== null && this.pendingCount === 0) this.destroy('retired: every reply arrived');
  }

  private deliver(bytes: Buffer): void {
    const slot = this.head;
    if (!slot) {
      this.destroy('the upstream sent a reply nobody asked for');
      return;
    }
    if (slot.repliesLeft > 1) {
      // A request answered by several replies (SUBSCRIBE a b c): join them into one.
      slot.repliesLeft -= 1;
      slot.parts.push(bytes);
      return;
    }
    if (slot.parts.length > 0) {
      slot.parts.push(bytes);
      bytes = Buffer.concat(slot.parts);
      slot.parts = [];
    }
    this.head = slot.upstreamNext;
    if (!this.head) this.tail = null;
    slot.upstreamNext = null;
    this.pendingCount -= 1;
    if (bytes[0] === 0x2d /* '-' */ && startsWith(bytes, READONLY_PREFIX)) this.emit('readonly');
    slot.fill(bytes);
  }

  private onInitReply(bytes: Buffer): void {
    if (bytes[0] === 0x2d /* '-' */) {
      const message = bytes.toString('utf8', 1).trim();
      const credentials = this.options.credentials;
      if (credentials) this.destroy(`${credentials.server} rejected respguard's credentials or HELLO (check ${credentials.field}): ${message}`);
      else this.destroy(`the upstream rejected respguard's credentials or HELLO: ${message}`);
      return;
    }
    let facts: ServerFacts;
    try {
      facts = factsFromHello(decodeReply(bytes));
    } catch (error) {
      this.destroy(`invalid HELLO reply from the upstream: ${(error as Error).message}`);
      return;
    }
    this.facts = facts;
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
    // Senders waiting for 'drain' must not wait for a connection that is gone.
    this.emitDrain();
    this.emit('close', reason);
  }

  get reason(): string {
    return this.closeReason;
  }
}

function startsWith(bytes: Buffer, prefix: Buffer): boolean {
  return bytes.length >= prefix.length && bytes.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

function flushBatch(connection: UpstreamConnection): void {
  connection.flush();
}

/** Reads HELLO's reply: a RESP3 map, or a flat key-value array in RESP2. */
function factsFromHello(value: unknown): ServerFacts {
  const fields = new Map<string, unknown>();
  if (value instanceof Map) {
    for (const [key, item] of value) fields.set(String(key), item);
  } else if (Array.isArray(value)) {
    for (let i = 0; i + 1 < value.length; i += 2) fields.set(String(value[i]), value[i + 1]);
  } else {
    throw new Error('expected a map');
  }
  const text = (key: string, fallback: string): string => {
    const item = fields.get(key);
    return item === undefined || item === null ? fallback : Buffer.isBuffer(item) ? item.toString() : String(item);
  };
  return {
    version: text('version', 'unknown'),
    mode: text('mode', 'standalone'),
    role: text('role', 'master'),
    clientId: Number(fields.get('id') ?? 0),
  };
}
