/**
 * The connection to one sentinel: a RESP3 connection logged in with the sentinel's own
 * credentials (`upstream.sentinel.username/password/tls`), subscribed to the failover events of
 * EVENT_CHANNELS, that also answers SENTINEL queries (RESP3 allows commands on a subscribed
 * connection). It reconnects with backoff when it drops.
 *
 * respguard keeps a link to every configured sentinel, not only to one: the steps of a failover
 * (`+selected-slave`) are published only by the sentinel that leads it.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../observability/logger.js';
import { encodeCommand } from '../../resp/encode.js';
import { decodeReply, ErrorReply, PushReply, type RespValue } from '../../resp/reply-value.js';
import { ReplySlot } from '../../session/reply-slot.js';
import { isConfirmation } from '../../session/pubsub.js';
import { UpstreamConnection, type ConnectionOptions, type UnsolicitedReceiver } from '../connection.js';
import { backoffDelay } from '../pool.js';
import { EVENT_CHANNELS, parseEvent, parseMessagePush } from './replies.js';

/** Time allowed for the reply to one query sent to a sentinel or a Redis node. */
export const QUERY_TIMEOUT_MS = 2000;

/** No reply within the time allowed. */
class QueryTimeoutError extends Error {}

/**
 * Sends `args` on `connection` and resolves with the decoded reply. Rejects on an error reply
 * (a lost connection gives one too), an undecodable reply, or no reply within `timeoutMs`.
 */
export function ask(connection: UpstreamConnection, args: readonly string[], timeoutMs: number): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new QueryTimeoutError(`no reply to ${args.slice(0, 2).join(' ')} within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    connection.sendInternal(args, (bytes) => {
      clearTimeout(timer);
      let value: RespValue;
      try {
        value = decodeReply(bytes);
      } catch (error) {
        reject(error as Error);
        return;
      }
      if (value instanceof ErrorReply) reject(new Error(value.text));
      else resolve(value);
    });
  });
}

/**
 * Events: 'ready' once connected and subscribed; 'down' when the connection closed;
 * 'event' (SentinelEvent) for each failover step the sentinel publishes.
 */
export class SentinelLink extends EventEmitter implements UnsolicitedReceiver {
  private connection: UpstreamConnection | null = null;
  private subscribed = false;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    /** `host:port` of the sentinel, as the config names it. */
    readonly address: string,
    private readonly options: ConnectionOptions,
    private readonly logger: Logger,
  ) {
    super();
  }

  start(): void {
    this.open();
  }

  /** True while the connection is up and subscribed. */
  get ready(): boolean {
    return this.subscribed && this.connection?.state === 'ready';
  }

  /** Sends a command to the sentinel and resolves with its reply. A sentinel that does not reply in time is reconnected. */
  async query(args: readonly string[]): Promise<RespValue> {
    const connection = this.connection;
    if (!connection || !this.ready) throw new Error('not connected');
    try {
      return await ask(connection, args, QUERY_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof QueryTimeoutError) connection.destroy(error.message);
      throw error;
    }
  }

  private open(): void {
    this.timer = null;
    if (this.closed) return;
    const connection = new UpstreamConnection(this.options, this.logger);
    this.connection = connection;
    connection.receiver = this;
    connection.once('ready', () => this.subscribe(connection));
    connection.once('close', (reason: string) => {
      this.connection = null;
      const wasReady = this.subscribed;
      this.subscribed = false;
      if (this.closed) return;
      this.failures += 1;
      const delay = backoffDelay(this.failures);
      if (this.failures === 1 || this.failures % 10 === 0) {
        this.logger.warn({ event: 'sentinel', sentinel: this.address, reason, failures: this.failures, retryInMs: delay }, 'sentinel connection failed; reconnecting');
      }
      if (wasReady) this.emit('down');
      this.timer = setTimeout(() => this.open(), delay);
    });
  }

  /** Subscribes to each event channel with a command of its own, so that an error reply cannot shift later replies. */
  private subscribe(connection: UpstreamConnection): void {
    let left = EVENT_CHANNELS.length;
    for (const channel of EVENT_CHANNELS) {
      const slot = new ReplySlot({
        slotFilled: (filled) => {
          if (connection.state === 'closed') return;
          if (filled.data?.[0] === 0x2d /* '-' */) {
            connection.destroy(`SUBSCRIBE ${channel} failed: ${filled.data.toString('utf8', 1).trim()}`);
            return;
          }
          left -= 1;
          if (left > 0) return;
          if (this.failures > 0) this.logger.info({ event: 'sentinel', sentinel: this.address }, 'sentinel connection restored');
          else this.logger.debug({ event: 'sentinel', sentinel: this.address }, 'sentinel connected');
          this.failures = 0;
          this.subscribed = true;
          this.emit('ready');
        },
      });
      connection.send(encodeCommand(['SUBSCRIBE', channel]), slot);
    }
  }

  /** Part of UnsolicitedReceiver: every push but a subscribe confirmation is a published message. */
  isUnsolicited(bytes: Buffer, push: boolean): boolean {
    return push && !isConfirmation(bytes);
  }

  /** Part of UnsolicitedReceiver: reads a published message and emits its event. */
  unsolicited(bytes: Buffer): void {
    let value: RespValue;
    try {
      value = decodeReply(bytes);
    } catch {
      return;
    }
    const message = value instanceof PushReply ? parseMessagePush(value.items) : null;
    if (!message) return;
    this.logger.debug({ event: 'sentinel', sentinel: this.address, channel: message.channel, message: message.message }, 'sentinel event');
    const event = parseEvent(message.channel, message.message);
    if (event) this.emit('event', event);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.connection?.destroy('respguard is stopping');
  }
}
