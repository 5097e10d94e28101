/**
 * A pipelining client for the ACL tests: sends many requests to a test's redis-server in one
 * write and decodes the RESP2 replies with redis-parser. Strings come back as latin1, so each
 * character is one byte of the reply.
 */
import net from 'node:net';
import RedisParser from 'redis-parser';
import { encodeCommand } from '../../helpers/resp-client.js';

/** A decoded reply; an error reply is `{ error }` with the text after `-`. */
export type Reply = string | number | null | { error: string } | Reply[];

export class RedisSession {
  private readonly waiting: ((reply: Reply) => void)[] = [];
  private readonly parser: RedisParser;

  private constructor(private readonly socket: net.Socket) {
    this.parser = new RedisParser({
      returnBuffers: true,
      returnReply: (reply: unknown) => this.waiting.shift()?.(decode(reply)),
      returnError: (error) => this.waiting.shift()?.({ error: error.message }),
      returnFatalError: (error) => socket.destroy(error),
    });
    socket.on('data', (chunk: Buffer) => this.parser.execute(chunk));
  }

  static async connect(port: number): Promise<RedisSession> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RedisSession(socket);
  }

  /** Sends the requests in one write; resolves with their replies in order. */
  async pipeline(requests: readonly (readonly (string | Buffer)[])[]): Promise<Reply[]> {
    const replies = requests.map(() => new Promise<Reply>((resolve) => this.waiting.push(resolve)));
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

/** Copies parser output into plain values, because its Buffers may share the parser's memory. */
function decode(reply: unknown): Reply {
  if (Buffer.isBuffer(reply)) return reply.toString('latin1');
  if (Array.isArray(reply)) return reply.map(decode);
  if (typeof reply === 'number' || reply === null) return reply;
  return String(reply);
}

/** Returns the error text of an error reply, or undefined for any other reply. */
export function errorText(reply: Reply): string | undefined {
  return typeof reply === 'object' && reply !== null && !Array.isArray(reply) ? reply.error : undefined;
}

/** A small seeded generator (mulberry32), so that generated cases repeat from run to run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
