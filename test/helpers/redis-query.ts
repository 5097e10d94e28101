/**
 * A decoding client for tests that query a test's redis-server in bulk (command table and ACL
 * differential tests): pipelines requests in one write and decodes the RESP2 replies with
 * redis-parser, as the command table generator does.
 */
import net from 'node:net';
import RedisParser from 'redis-parser';
import { encodeCommand } from './resp-client.js';

/** An error reply, kept apart from string replies. */
export interface ErrorReply {
  error: string;
}

/** A decoded reply: bulk and simple strings as latin1 strings, so every byte maps to one character. */
export type Reply = string | number | null | ErrorReply | Reply[];

export class RedisQuery {
  private pending: ((reply: Reply) => void)[] = [];
  private readonly parser: RedisParser;

  private constructor(private readonly socket: net.Socket) {
    this.parser = new RedisParser({
      returnBuffers: true,
      returnReply: (reply: unknown) => this.pending.shift()?.(toLatin1(reply)),
      returnError: (error) => this.pending.shift()?.({ error: error.message }),
      returnFatalError: (error) => socket.destroy(error),
    });
    socket.on('data', (chunk: Buffer) => this.parser.execute(chunk));
  }

  static async connect(port: number): Promise<RedisQuery> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RedisQuery(socket);
  }

  /** Sends all requests in one write and resolves with their replies in order. */
  async pipeline(requests: readonly (readonly (string | Buffer)[])[]): Promise<Reply[]> {
    const replies = requests.map(() => new Promise<Reply>((resolve) => this.pending.push(resolve)));
    this.socket.write(Buffer.concat(requests.map((request) => encodeCommand(request))));
    return Promise.all(replies);
  }

  async call(request: readonly (string | Buffer)[]): Promise<Reply> {
    const [reply] = await this.pipeline([request]);
    return reply!;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Copies parser output into plain values, since returned Buffers may share the parser's memory. */
function toLatin1(reply: unknown): Reply {
  if (Buffer.isBuffer(reply)) return reply.toString('latin1');
  if (Array.isArray(reply)) return reply.map(toLatin1);
  if (typeof reply === 'number' || reply === null) return reply;
  return String(reply);
}

/** Tells an error reply apart from other replies. */
export function isErrorReply(reply: Reply): reply is ErrorReply {
  return typeof reply === 'object' && reply !== null && !Array.isArray(reply);
}

/** Returns the error text of an error reply, or undefined for any other reply. */
export function errorText(reply: Reply): string | undefined {
  return isErrorReply(reply) ? reply.error : undefined;
}
