/**
 * A raw RESP client for tests: sends exact bytes and reads whole replies back as latin1 strings,
 * so that tests can assert the exact bytes a server sent.
 */
import net from 'node:net';

/** Encodes a command as a RESP multibulk request. */
export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Returns the end offset of one whole reply that starts at `at`, or -1 when bytes are missing. */
export function replyEnd(buf: Buffer, at: number): number {
  if (at >= buf.length) return -1;
  const lineEnd = buf.indexOf('\r\n', at);
  if (lineEnd < 0) return -1;
  const type = String.fromCharCode(buf[at]!);
  const head = buf.toString('latin1', at + 1, lineEnd);
  let next = lineEnd + 2;
  switch (type) {
    case '+': case '-': case ':': case '_': case ',': case '#': case '(':
      return next;
    case '$': case '=': case '!': {
      const length = Number(head);
      if (length < 0) return next;
      return buf.length >= next + length + 2 ? next + length + 2 : -1;
    }
    case '*': case '~': case '>': case '%': case '|': {
      let count = Number(head);
      if (count < 0) return next;
      if (type === '%' || type === '|') count *= 2;
      for (let i = 0; i < count; i++) {
        next = replyEnd(buf, next);
        if (next < 0) return -1;
      }
      return type === '|' ? replyEnd(buf, next) : next;
    }
    default:
      throw new Error(`unexpected reply type byte ${JSON.stringify(type)} at offset ${at}`);
  }
}

export class RawClient {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = net.connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Sends a command (encoded as multibulk) or raw bytes as they are. */
  send(data: readonly (string | Buffer)[] | string | Buffer): this {
    if (Array.isArray(data)) this.socket.write(encodeCommand(data));
    else this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : (data as Buffer));
    return this;
  }

  /** Reads one whole reply; returns 'CLOSED' when the server closed the connection first and 'TIMEOUT' after timeoutMs. */
  async reply(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = replyEnd(this.buffer, 0);
      if (end > 0) {
        const reply = this.buffer.toString('latin1', 0, end);
        this.buffer = this.buffer.subarray(end);
        return reply;
      }
      if (this.closed) return 'CLOSED';
      const left = deadline - Date.now();
      if (left <= 0) return 'TIMEOUT';
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, left).unref();
      });
    }
  }

  async call(args: readonly (string | Buffer)[], timeoutMs = 5000): Promise<string> {
    this.send(args);
    return this.reply(timeoutMs);
  }

  /** Resolves once the server has closed the connection, or returns false after timeoutMs. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, left).unref();
      });
    }
    return true;
  }

  close(): void {
    this.socket.destroy();
  }
}
