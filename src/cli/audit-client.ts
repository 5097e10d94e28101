/**
 * A minimal Redis client for `respguard audit`: one connection, plain or TLS, that sends
 * commands and decodes their replies in order. It uses respguard's own RESP encoder and reply
 * decoder because the client libraries are development dependencies only. Error replies come
 * back as ErrorReply values, not exceptions, because the audit reports rejected commands
 * instead of failing on them.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { encodeCommand } from '../resp/encode.js';
import { decodeReply, ReplyFramer, type RespValue } from '../resp/reply-framer.js';

/** Address, transport and credentials of the server to audit. Passwords stay in this object and are never printed. */
export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
  /** PEM files for TLS: the CA that signs the server certificate, and a client certificate and key. */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** Time allowed for the connection and for each reply, in ms. */
const TIMEOUT_MS = 5000;

/** An open connection that sends one command at a time. */
export class RedisConnection {
  private readonly framer = new ReplyFramer({ maxDepth: 100, maxBulkLength: 64 * 1024 * 1024 });
  private readonly waiting: { resolve(value: RespValue): void; reject(error: Error): void }[] = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the server closed the connection')));
    socket.setTimeout(TIMEOUT_MS, () => {
      this.fail(new Error(`no reply within ${TIMEOUT_MS} ms`));
      socket.destroy();
    });
  }

  /** Connects to `target` without authenticating. Rejects with the connection or TLS error. */
  static async open(target: RedisTarget): Promise<RedisConnection> {
    const socket = target.tls ? connectTls(target) : net.connect({ host: target.host, port: target.port });
    const readyEvent = target.tls ? 'secureConnect' : 'connect';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connection timed out after ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
      socket.once(readyEvent, () => {
        clearTimeout(timer);
        socket.off('error', reject);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    return new RedisConnection(socket);
  }

  /** Sends one command and resolves with its decoded reply; rejects when the connection fails. */
  call(...args: string[]): Promise<RespValue> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(encodeCommand(args));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    try {
      this.framer.feed(chunk);
      for (let framed = this.framer.next(); framed !== null; framed = this.framer.next()) {
        // Only the bytes of this reply are decoded, so a copy is not needed.
        this.waiting.shift()?.resolve(decodeReply(framed.bytes));
      }
    } catch (error) {
      this.fail(error as Error);
      this.socket.destroy();
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.failure);
  }
}

function connectTls(target: RedisTarget): tls.TLSSocket {
  return tls.connect({
    host: target.host,
    port: target.port,
    // SNI takes host names only, never IP addresses.
    servername: net.isIP(target.host) === 0 ? target.host : undefined,
    ca: target.caFile === undefined ? undefined : readFileSync(target.caFile),
    cert: target.certFile === undefined ? undefined : readFileSync(target.certFile),
    key: target.keyFile === undefined ? undefined : readFileSync(target.keyFile),
  });
}

/**
 * Parses `redis://[user[:password]@]host[:port][/db]` or `rediss://` (TLS). The password may
 * also come from `fallbackPassword` (REDISCLI_AUTH, as redis-cli reads it). Throws an Error
 * whose message never contains the password.
 */
export function parseRedisUrl(text: string, fallbackPassword?: string): Omit<RedisTarget, 'caFile' | 'certFile' | 'keyFile'> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('invalid URL: expected redis://[USER:PASSWORD@]HOST:PORT or rediss://... for TLS');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`unsupported URL scheme "${url.protocol}": use redis:// or rediss:// (TLS)`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new Error('the URL has no host: expected redis://HOST:PORT');
  const username = url.username === '' ? undefined : decodeURIComponent(url.username);
  const password = url.password === '' ? fallbackPassword || undefined : decodeURIComponent(url.password);
  return {
    host,
    port: url.port === '' ? 6379 : Number(url.port),
    tls: url.protocol === 'rediss:',
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}
