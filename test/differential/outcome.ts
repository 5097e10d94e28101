/**
 * What a request stream did on one server, and how the outcome of respguard compares with
 * Redis's own. A stream's outcome is its replies, whether the connection was closed or left
 * waiting for more input, and the data that the stream left in the server.
 *
 * The comparison allows only divergences that are known and pinned by their own tests, and
 * names each one. Any other difference is unexplained, and the differential test fails on it.
 */
import { DEFAULT_DECODER_LIMITS, ProtocolError, RequestDecoder } from '../../src/resp/request-decoder.js';
import type { RawClient } from '../helpers/resp-client.js';

export interface Outcome {
  /** Replies as latin1 text, in order. */
  replies: string[];
  /** `closed` when the server closed the connection, `open` when it waited for more input. */
  end: 'closed' | 'open';
  /** Each key with its content, sorted by key. */
  data: DataEntry[];
}

/** One key that a stream left in the server: a list's items, or any other type's DUMP. */
export interface DataEntry {
  key: string;
  items?: string[];
  dump?: string;
}

/** Reads replies until the connection closes or no reply came for `quietMs`. */
export async function collectReplies(client: RawClient, replies: string[], quietMs: number): Promise<'closed' | 'open'> {
  for (;;) {
    const reply = await client.reply(quietMs);
    if (reply === 'CLOSED') return 'closed';
    if (reply === 'TIMEOUT') return 'open';
    replies.push(reply);
  }
}

/** Reads every key of the server with its content. */
export async function readData(admin: RawClient): Promise<DataEntry[]> {
  const keys = parseArray(await admin.call(['KEYS', '*']));
  const data: DataEntry[] = [];
  for (const key of keys.sort()) {
    const type = await admin.call(['TYPE', key]);
    if (type === '+list\r\n') data.push({ key, items: parseArray(await admin.call(['LRANGE', key, '0', '-1'])) });
    else data.push({ key, dump: await admin.call(['DUMP', key]) });
  }
  return data;
}

/** Parses a RESP2 array of bulk strings. */
function parseArray(reply: string): string[] {
  const items: string[] = [];
  let at = reply.indexOf('\r\n') + 2;
  while (at < reply.length) {
    const lineEnd = reply.indexOf('\r\n', at);
    const length = Number(reply.slice(at + 1, lineEnd));
    items.push(reply.slice(lineEnd + 2, lineEnd + 2 + length));
    at = lineEnd + 2 + length + 2;
  }
  return items;
}

/** A known way in which respguard's outcome may differ from Redis's. */
export type Divergence = 'crlf' | 'huge-count' | 'nul-line';

const CRLF_ERRORS = ['-ERR Protocol error: missing LF after CR\r\n', '-ERR Protocol error: missing CRLF after bulk data\r\n'];
const INVALID_MULTIBULK = '-ERR Protocol error: invalid multibulk length\r\n';
const PROTOCOL_ERROR = /^-ERR Protocol error: /;

/** Drops the arguments that Redis quotes in an unknown-command error and respguard leaves out. */
function withoutQuotedArgs(reply: string): string {
  const match = /^(-ERR unknown command '[^]*', with args beginning with: )[^]*\r\n$/.exec(reply);
  return match ? `${match[1]}\r\n` : reply;
}

const startsWith = <T>(items: readonly T[], prefix: readonly T[]): boolean => prefix.every((item, i) => items[i] === item);

/**
 * Compares respguard's outcome with Redis's. Returns the known divergences found, an empty list
 * when the outcomes are equal, or null when they differ in a way that no known divergence explains.
 */
export function compareOutcomes(stream: Buffer, redis: Outcome, proxy: Outcome): Divergence[] | null {
  const found: Divergence[] = [];
  const expected = redis.replies.map(withoutQuotedArgs);
  const received = proxy.replies.map(withoutQuotedArgs);

  const sameData = JSON.stringify(redis.data) === JSON.stringify(proxy.data);
  if (sameData && proxy.end === redis.end && received.join('') === expected.join('')) return found;

  const last = received[received.length - 1] ?? '';
  const before = received.slice(0, -1);
  if (proxy.end === 'closed' && CRLF_ERRORS.includes(last) && startsWith(expected, before) && dataIsPrefix(proxy.data, redis.data)) {
    return [...found, 'crlf'];
  }
  // Redis takes counts up to 2^31 - 1 and then waits for the arguments, or rejects a later line.
  const redisRejectedLater = redis.end === 'closed' && expected.length === received.length && PROTOCOL_ERROR.test(expected[expected.length - 1] ?? '');
  const redisPrefix = redisRejectedLater ? expected.slice(0, -1) : expected;
  if (proxy.end === 'closed' && last === INVALID_MULTIBULK && (redis.end === 'open' || redisRejectedLater) && sameData && redisPrefix.join('') === before.join('')) {
    return [...found, 'huge-count'];
  }
  if (redis.end === 'open' && startsWith(received, expected) && dataIsPrefix(redis.data, proxy.data) && nulWhereRedisStopped(stream, expected.length)) {
    return [...found, 'nul-line'];
  }
  return null;
}

/**
 * Returns whether `shorter` could be `longer` before more commands ran: the same keys or fewer,
 * and each list a prefix of the other's. The streams only append to lists, so a prefix is what
 * fewer executed commands leave.
 */
function dataIsPrefix(shorter: readonly DataEntry[], longer: readonly DataEntry[]): boolean {
  const longerByKey = new Map(longer.map((entry) => [entry.key, entry]));
  return shorter.every((entry) => {
    const other = longerByKey.get(entry.key);
    if (other === undefined) return false;
    if (entry.items && other.items) return startsWith(other.items, entry.items);
    return entry.dump === other.dump;
  });
}

/**
 * Returns whether a NUL byte explains why Redis stopped after the first `commands` commands of
 * the stream. Redis 7.0 finds line ends with strchr() (src/networking.c), which stops at NUL, so
 * a NUL before a line's end leaves Redis waiting for more input forever. respguard reads on: it runs the next command,
 * which must then be an inline line with the NUL, or it rejects the request, and then the NUL
 * must come before the byte that failed. Empty lines that both skip may come first.
 */
function nulWhereRedisStopped(stream: Buffer, commands: number): boolean {
  const decoder = new RequestDecoder({ ...DEFAULT_DECODER_LIMITS });
  decoder.authenticated = true;
  let decoded = 0;
  let offset = 0;
  let stoppedAt = commands === 0 ? 0 : -1;
  // Byte by byte, so that offsets point right after the last byte of a command or at the failing byte.
  try {
    while (offset < stream.length) {
      decoder.feed(stream.subarray(offset, offset + 1));
      offset += 1;
      for (let command = decoder.next(); command !== null; command = decoder.next()) {
        decoded += 1;
        if (decoded === commands) stoppedAt = offset;
        if (decoded > commands) return command.raw === null && stream.subarray(stoppedAt, offset).includes(0);
      }
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return decoded === commands && stream.subarray(stoppedAt, offset).includes(0);
  }
  return false;
}
