/**
 * Decoding of the few upstream replies that respguard reads itself, such as HELLO and COMMAND,
 * in RESP2 and RESP3. The data path never decodes replies, so this favours clarity over speed:
 * the ReplyFramer validates the bytes first, and a plain recursive reader then builds values.
 * (redis-parser, used elsewhere, reads RESP2 only.)
 */
import { parseInteger } from './input-buffer.js';
import { ReplyFramer, ReplyProtocolError } from './reply-framer.js';

/** An error reply, from `-` or `!`. */
export class ErrorReply {
  /** Error text without the leading type byte, e.g. "ERR unknown command". */
  constructor(readonly text: string) {}
}

/** A RESP3 push message (`>`). */
export class PushReply {
  constructor(readonly items: RespValue[]) {}
}

/** A RESP3 verbatim string (`=`), such as the reply to INFO. */
export class VerbatimString {
  /** The three-byte format, "txt" or "mkd". */
  constructor(readonly format: string, readonly text: Buffer) {}
}

/**
 * A decoded reply:
 * - simple string (`+`): string
 * - bulk string (`$`): Buffer
 * - integer (`:`): number, or bigint beyond Number.MAX_SAFE_INTEGER
 * - double (`,`): number, with Infinity and NaN for "inf" and "nan"
 * - big number (`(`): bigint
 * - boolean (`#`): boolean
 * - null (`_`, `$-1`, `*-1`): null
 * - error (`-`, `!`): ErrorReply
 * - verbatim string (`=`): VerbatimString
 * - array (`*`): RespValue[]
 * - push (`>`): PushReply
 * - set (`~`): Set<RespValue>
 * - map (`%`): Map<RespValue, RespValue>
 *
 * Map keys and set members that are strings of any kind become JS strings, decoded as UTF-8, so
 * that `map.get('proto')` and `set.has('write')` work. A Buffer key could not be looked up.
 * Attributes (`|`) are dropped and only the value that follows them is returned.
 */
export type RespValue =
  | string
  | Buffer
  | number
  | bigint
  | boolean
  | null
  | ErrorReply
  | VerbatimString
  | RespValue[]
  | PushReply
  | Set<RespValue>
  | Map<RespValue, RespValue>;

/**
 * Decodes `bytes`, which must hold exactly one whole reply. Throws ReplyProtocolError for
 * invalid, incomplete or trailing bytes, and for nesting deeper than `maxDepth`.
 */
export function decodeReply(bytes: Buffer, maxDepth = 1000): RespValue {
  const framer = new ReplyFramer({ maxDepth, maxBulkLength: Number.MAX_SAFE_INTEGER });
  framer.feed(bytes);
  const framed = framer.next();
  if (framed === null) throw new ReplyProtocolError('incomplete reply');
  if (framed.bytes.length !== bytes.length) {
    throw new ReplyProtocolError(`${bytes.length - framed.bytes.length} bytes follow the reply`);
  }
  return new ValueReader(bytes).read();
}

/** Reads values from bytes that the framer has already validated. */
class ValueReader {
  private at = 0;

  constructor(private readonly bytes: Buffer) {}

  read(): RespValue {
    const type = this.bytes[this.at]!;
    const lineEnd = this.bytes.indexOf(0x0d, this.at);
    const line = this.bytes.toString('latin1', this.at + 1, lineEnd);
    const from = this.at + 1;
    this.at = lineEnd + 2;

    switch (type) {
      case 0x2b: return this.bytes.toString('utf8', from, lineEnd); // +
      case 0x2d: return new ErrorReply(this.bytes.toString('utf8', from, lineEnd)); // -
      case 0x3a: return toInteger(this.bytes, from, lineEnd, line); // :
      case 0x5f: return null; // _
      case 0x2c: return toDouble(line); // ,
      case 0x23: return line === 't'; // #
      case 0x28: return BigInt(line); // (
      case 0x24: return line === '-1' ? null : this.readData(Number(line)); // $
      case 0x21: return new ErrorReply(this.readData(Number(line)).toString('utf8')); // !
      case 0x3d: { // =
        const data = this.readData(Number(line));
        return new VerbatimString(data.toString('latin1', 0, 3), data.subarray(4));
      }
      case 0x2a: return line === '-1' ? null : this.readItems(Number(line)); // *
      case 0x3e: return new PushReply(this.readItems(Number(line))); // >
      case 0x7e: return new Set(this.readItems(Number(line)).map(toKey)); // ~
      case 0x25: return this.readMap(Number(line)); // %
      case 0x7c: // | attribute: skip its pairs, then return the value it annotates
        this.readMap(Number(line));
        return this.read();
      default:
        throw new ReplyProtocolError(`invalid reply type byte 0x${type.toString(16)}`);
    }
  }

  private readData(length: number): Buffer {
    const data = this.bytes.subarray(this.at, this.at + length);
    this.at += length + 2;
    return data;
  }

  private readItems(count: number): RespValue[] {
    const items: RespValue[] = [];
    for (let i = 0; i < count; i++) items.push(this.read());
    return items;
  }

  private readMap(count: number): Map<RespValue, RespValue> {
    const map = new Map<RespValue, RespValue>();
    for (let i = 0; i < count; i++) {
      const key = toKey(this.read());
      map.set(key, this.read());
    }
    return map;
  }
}

function toInteger(bytes: Buffer, from: number, to: number, line: string): number | bigint {
  const value = parseInteger(bytes, from, to)!;
  return Number.isSafeInteger(value) ? value : BigInt(line);
}

function toDouble(line: string): number {
  const lower = line.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan' || lower === '-nan' || lower === '+nan') return NaN;
  return Number(line);
}

function toKey(value: RespValue): RespValue {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof VerbatimString) return value.text.toString('utf8');
  return value;
}
