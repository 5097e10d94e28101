/**
 * Reads whole RESP replies from a socket for the fuzz clients, with a timeout per read and the
 * option to stop reading for a while, as a slow client does. Replies come back as latin1 text.
 * Bytes that are not RESP make `next` throw, and the fuzz script reports them.
 */
import type net from 'node:net';
import { replyEnd } from '../helpers/resp-client.js';

export class ReplyReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Set when the last parse found no whole reply, until more bytes arrive. */
  private needMore = false;
  private waiter: (() => void) | null = null;
  private resumeTimer: NodeJS.Timeout | null = null;
  closed = false;
  /** Reply bytes received in all, for the report. */
  receivedBytes = 0;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      this.receivedBytes += chunk.length;
      this.needMore = false;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  /** Stops reading from the socket for `ms`, so that replies pile up in respguard. */
  pauseFor(ms: number): void {
    this.socket.pause();
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      this.socket.resume();
    }, ms);
  }

  /** Returns the bytes received but not yet returned as replies. */
  unread(): Buffer {
    if (this.pending.length > 1) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
    return this.pending[0] ?? Buffer.alloc(0);
  }

  /** Parses one whole reply out of the buffered bytes, or returns null. Throws on bytes that are not RESP. */
  private take(): string | null {
    if (this.needMore || this.pendingBytes === 0) return null;
    const bytes = this.unread();
    const end = replyEnd(bytes, 0);
    if (end < 0) {
      this.needMore = true;
      return null;
    }
    const reply = bytes.toString('latin1', 0, end);
    const rest = bytes.subarray(end);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return reply;
  }

  /** Returns the next reply, or null when the connection closed or `timeoutMs` passed first. */
  async next(timeoutMs: number): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = this.take();
      if (reply !== null) return reply;
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await this.waitForData(left);
    }
  }

  /** Waits until the socket closes; returns false after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      // Replies that still arrive are dropped, because only the close matters here.
      this.pending = [];
      this.pendingBytes = 0;
      await this.waitForData(left);
    }
    return true;
  }

  private waitForData(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve();
      }, timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  dispose(): void {
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.socket.destroy();
  }
}
