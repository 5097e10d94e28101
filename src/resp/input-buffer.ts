/**
 * Byte storage shared by the request decoder and the reply framer: socket chunks go in, and the
 * parser reads them through one contiguous Buffer with a cursor.
 *
 * Invariants:
 * - Bytes that were handed out as views (`bytes.subarray(...)`) are never written again. Appends go past `end`, and compaction copies the live bytes into a new Buffer, so
 *   views that a caller still keeps stay valid.
 * - A value whose length is known (a bulk) is joined once, when its last chunk arrives, and
 *   other input grows the storage by doubling. So a 100 MB value that arrives in 64 KiB chunks
 *   costs O(n) copying, not O(n^2).
 * - A search for a line end scans each byte once, however the line is split into chunks.
 *
 * The integer parser that both sides use for counts and lengths is here too.
 */

/**
 * The `Buffer` class, read once. Node.js 20 defines the global `Buffer` as a getter, which costs
 * a call on every use in a hot loop.
 */
const BufferClass = Buffer;
const EMPTY = Buffer.alloc(0);
const CR = 0x0d;
const LF = 0x0a;

/** Input bytes with a parse cursor. Offsets are indexes into `bytes`. */
export class InputBuffer {
  /** The input received so far: a view of `storage` from 0 to `end`. */
  bytes: Buffer = EMPTY;
  /** Storage. Bytes from `end` to its length are spare capacity and contain garbage. */
  private storage: Buffer = EMPTY;
  /** `storage.buffer` and `storage.byteOffset`, read by the first `view` of each storage. */
  private storageBuffer: ArrayBufferLike | null = null;
  private storageOffset = 0;
  /** First byte of the item (command or reply) being parsed. Bytes before it are consumed. */
  start = 0;
  /** Parse cursor, between `start` and `end`. */
  pos = 0;
  /** End of the input received, which is `bytes.length`. */
  end = 0;
  /** The line end searched for is not in [pos, scanFrom). */
  private scanFrom = 0;
  /** Chunks that arrived after `end` while a value still lacked bytes, joined once it is whole. */
  private parked: Buffer[] = [];
  private parkedBytes = 0;
  /** Offset just past the CRLF of the last line that `parseLengthLine` accepted. */
  lineNext = 0;

  /** Bytes received and not yet consumed. */
  get buffered(): number {
    return this.end - this.start + this.parkedBytes;
  }

  /** Bytes after the cursor that the parser can read now. */
  get available(): number {
    return this.end - this.pos;
  }

  /**
   * Appends a chunk. When nothing is buffered the chunk itself becomes the storage, with no
   * copy, so the caller must not modify a chunk after passing it in.
   *
   * `required` is how many bytes from `start` the item being parsed needs before it can progress,
   * or 0 when that is unknown. Chunks that still leave it short are only kept in a list and are
   * copied once, when the last one arrives.
   */
  append(chunk: Buffer, required: number): void {
    if (chunk.length === 0) return;
    if (this.start === this.end && this.parkedBytes === 0) {
      this.bytes = chunk;
      this.setStorage(chunk);
      this.start = 0;
      this.pos = 0;
      this.end = chunk.length;
      this.scanFrom = 0;
      return;
    }
    const fits = this.parkedBytes === 0 && this.end + chunk.length <= this.storage.length;
    if (fits) {
      chunk.copy(this.storage, this.end);
      this.end += chunk.length;
      this.bytes = this.storage.subarray(0, this.end);
    } else if (required > 0 && this.buffered + chunk.length < required) {
      this.parked.push(chunk);
      this.parkedBytes += chunk.length;
    } else {
      this.join(chunk, required > 0 ? 1 : 2);
    }
  }

  /**
   * Copies the live bytes, the parked chunks and `chunk` into a new Buffer. `growth` over-allocates
   * for input of unknown size, so that a long line costs O(n) copies in total.
   */
  private join(chunk: Buffer, growth: number): void {
    const live = this.end - this.start;
    const total = live + this.parkedBytes + chunk.length;
    const next = Buffer.allocUnsafe(total * growth);
    let at = this.bytes.copy(next, 0, this.start, this.end);
    for (const parked of this.parked) at += parked.copy(next, at);
    chunk.copy(next, at);

    const shift = this.start;
    this.setStorage(next);
    this.bytes = next.length === total ? next : next.subarray(0, total);
    this.start = 0;
    this.pos -= shift;
    this.scanFrom = Math.max(0, this.scanFrom - shift);
    this.end = total;
    this.parked = [];
    this.parkedBytes = 0;
  }

  private setStorage(storage: Buffer): void {
    this.storage = storage;
    this.storageBuffer = null;
  }

  /**
   * Returns a view of the input bytes [from, to), like `bytes.subarray(from, to)` but cheaper:
   * `subarray` reads `bytes.buffer`, which Node.js 20 computes with a call into C++ each time.
   */
  view(from: number, to: number): Buffer {
    if (this.storageBuffer === null) {
      this.storageBuffer = this.storage.buffer;
      this.storageOffset = this.storage.byteOffset;
    }
    return BufferClass.from(this.storageBuffer, this.storageOffset + from, to - from);
  }

  /** Returns the offset of the first `byte` at or after the cursor, or -1 if none arrived yet. */
  indexOf(byte: number): number {
    const from = Math.max(this.scanFrom, this.pos);
    if (from >= this.end) return -1;
    const found = this.bytes.indexOf(byte, from);
    if (found < 0) {
      this.scanFrom = this.end;
      return -1;
    }
    this.scanFrom = found;
    return found;
  }

  /**
   * Parses the common form of a count or length line that starts at `from`: 1 to 15 decimal
   * digits without a leading zero ("0" alone is fine), then CRLF. Returns the value and sets
   * `lineNext`, or returns -1 when the line has another form or has not fully arrived. Parsers
   * then take their exact path, which accepts the other valid forms and names the error in
   * invalid ones.
   *
   * A JavaScript loop over these few bytes costs less than `Buffer#indexOf` (a call into C++)
   * followed by `parseInteger`. 15 digits keep every value below 2^53.
   */
  parseLengthLine(from: number): number {
    const bytes = this.bytes;
    const end = this.end;
    if (from >= end) return -1;
    let value = bytes[from]! - 0x30;
    if (value < 0 || value > 9) return -1;
    let at = from + 1;
    if (value > 0) {
      const limit = Math.min(end, from + 15);
      while (at < limit) {
        const digit = bytes[at]! - 0x30;
        if (digit < 0 || digit > 9) break;
        value = value * 10 + digit;
        at++;
      }
    }
    if (at + 1 >= end || bytes[at] !== CR || bytes[at + 1] !== LF) return -1;
    this.lineNext = at + 2;
    return value;
  }

  /** Marks everything before the cursor as consumed and lets go of the storage once it is all consumed. */
  consume(): void {
    this.start = this.pos;
    if (this.start === this.end && this.parkedBytes === 0) {
      this.bytes = EMPTY;
      this.setStorage(EMPTY);
      this.start = 0;
      this.pos = 0;
      this.end = 0;
      this.scanFrom = 0;
    }
  }
}

const MAX_INT64 = 0x7fffffffffffffffn;
const MIN_INT64_MAGNITUDE = 0x8000000000000000n;

/**
 * Parses bytes [from, to) as a decimal integer with the rules of Redis's string2ll(), and returns
 * null for anything else. The rules: an optional `-` but no `+`, and no leading zero except in
 * "0" itself, so "-0" is invalid. Only digits follow, at most 20 bytes in all, and the value
 * must fit in a signed 64-bit integer.
 *
 * Values beyond 2^53 come back rounded, which keeps comparisons against any limit below 2^53
 * exact.
 */
export function parseInteger(bytes: Buffer, from: number, to: number): number | null {
  const length = to - from;
  if (length === 0 || length >= 21) return null;

  let at = from;
  const negative = bytes[at] === 0x2d;
  if (negative) {
    at++;
    if (at === to) return null;
  }
  const first = bytes[at]!;
  if (first === 0x30) return length === 1 ? 0 : null;
  if (first < 0x31 || first > 0x39) return null;

  const digitsFrom = at;
  let value = 0;
  for (; at < to; at++) {
    const digit = bytes[at]! - 0x30;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  if (value > Number.MAX_SAFE_INTEGER) {
    // Only a number this large can leave the 64-bit range, and only BigInt decides that exactly.
    const magnitude = BigInt(bytes.toString('latin1', digitsFrom, to));
    if (magnitude > (negative ? MIN_INT64_MAGNITUDE : MAX_INT64)) return null;
  }
  return negative ? -value : value;
}
