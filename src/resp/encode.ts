/**
 * Encoders for the replies that the session builds itself, in RESP2 or RESP3, and for the
 * commands that respguard sends upstream. Replies from Redis are never re-encoded: the reply
 * framer forwards their bytes.
 *
 * The prebuilt Buffers are shared by every connection, so callers must never modify them.
 * Strings are encoded as UTF-8.
 */

/** RESP version of a client connection, as chosen with HELLO. */
export type Protocol = 2 | 3;

const CRLF = Buffer.from('\r\n');

/** `+OK` */
export const OK: Buffer = Buffer.from('+OK\r\n');
/** `+PONG` */
export const PONG: Buffer = Buffer.from('+PONG\r\n');
/** `+QUEUED`, the reply to a command inside MULTI. */
export const QUEUED: Buffer = Buffer.from('+QUEUED\r\n');
/** `+RESET`, the reply to RESET. */
export const RESET_REPLY: Buffer = Buffer.from('+RESET\r\n');
/** `*0`, an empty array. */
export const EMPTY_ARRAY: Buffer = Buffer.from('*0\r\n');

const NULL_BULK_RESP2 = Buffer.from('$-1\r\n');
const NULL_ARRAY_RESP2 = Buffer.from('*-1\r\n');
const NULL_RESP3 = Buffer.from('_\r\n');

/** Prebuilt `:n` replies for the small integers that replies use most, 0 to 255. */
const SMALL_INTEGERS: readonly Buffer[] = Array.from({ length: 256 }, (_, n) => Buffer.from(`:${n}\r\n`));

/**
 * Drops CR and LF at both ends of `text` and turns the others into spaces, as Redis 7.0's
 * addReplyErrorFormat() does, so that a text cannot end its line early.
 */
function toSingleLine(text: string): string {
  if (!/[\r\n]/.test(text)) return text;
  return text.replace(/^[\r\n]+|[\r\n]+$/g, '').replace(/[\r\n]/g, ' ');
}

/** Encodes a simple string, `+text`. CR and LF in `text` are dropped at both ends and become spaces elsewhere. */
export function encodeSimple(text: string): Buffer {
  return Buffer.from(`+${toSingleLine(text)}\r\n`);
}

/**
 * Encodes an error reply, `-text`. The text starts with the error code, as in
 * "ERR syntax error". CR and LF in `text` are dropped at both ends and become spaces elsewhere.
 */
export function encodeError(text: string): Buffer {
  return Buffer.from(`-${toSingleLine(text)}\r\n`);
}

/**
 * Encodes an error reply whose text quotes request bytes as latin1 characters, so that each
 * quoted byte goes out unchanged, as Redis writes it.
 */
export function encodeQuotingError(text: string): Buffer {
  return Buffer.from(`-${toSingleLine(text)}\r\n`, 'latin1');
}

/** Encodes an integer reply, `:n`. Throws RangeError for a number that is not an integer. */
export function encodeInteger(n: number | bigint): Buffer {
  if (typeof n === 'number') {
    if (!Number.isInteger(n)) throw new RangeError(`integer reply needs an integer, got ${n}`);
    if (n >= 0 && n < SMALL_INTEGERS.length) return SMALL_INTEGERS[n]!;
  }
  return Buffer.from(`:${n}\r\n`);
}

/** Encodes a bulk string. null becomes the null bulk string of RESP2 (`$-1`) or RESP3's null (`_`). */
export function encodeBulk(value: Buffer | string | null, protocol: Protocol): Buffer {
  if (value === null) return protocol === 3 ? NULL_RESP3 : NULL_BULK_RESP2;
  const data = typeof value === 'string' ? Buffer.from(value) : value;
  const header = Buffer.from(`$${data.length}\r\n`);
  return Buffer.concat([header, data, CRLF], header.length + data.length + 2);
}

/** Encodes an array from already encoded items. */
export function encodeArray(items: readonly Buffer[]): Buffer {
  if (items.length === 0) return EMPTY_ARRAY;
  return Buffer.concat([Buffer.from(`*${items.length}\r\n`), ...items]);
}

/** Encodes a null array: `*-1` in RESP2, `_` in RESP3. */
export function encodeNullArray(protocol: Protocol): Buffer {
  return protocol === 3 ? NULL_RESP3 : NULL_ARRAY_RESP2;
}

/**
 * Encodes a map from already encoded keys and values: `%N` in RESP3, and in RESP2 a flat array
 * of 2N items, key before value, as Redis does for HELLO.
 */
export function encodeMap(entries: readonly (readonly [Buffer, Buffer])[], protocol: Protocol): Buffer {
  const header = protocol === 3 ? `%${entries.length}\r\n` : `*${entries.length * 2}\r\n`;
  const parts: Buffer[] = [Buffer.from(header)];
  for (const [key, value] of entries) parts.push(key, value);
  return Buffer.concat(parts);
}

/** Encodes a command as a multibulk request, `*N` followed by one bulk string per argument. */
export function encodeCommand(args: readonly (Buffer | string)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const data = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${data.length}\r\n`), data, CRLF);
  }
  return Buffer.concat(parts);
}
