/**
 * Reply framer: the step between the upstream socket and the client socket. Upstream chunks go
 * in, and each whole top-level reply comes out as its exact bytes, so that the proxy can match
 * replies to requests and forward them without decoding or re-encoding them.
 *
 * It reads RESP2 and RESP3 (`+ - : $ * _ , # ( = ! % ~ > |`) and checks every line and length
 * on the way. Invalid input throws ReplyProtocolError, after which the proxy drops the upstream
 * connection. The streamed forms of RESP3 (`$?`, `*?`, `;`, `.`) are rejected too, because
 * Redis never sends them.
 *
 * Invariants:
 * - Nesting is tracked with an explicit stack, never recursion, so a deep reply cannot overflow
 *   the call stack. The stack has at most `maxDepth` open aggregates.
 * - An attribute (`|`) is not a reply of its own: it is framed together with the reply that
 *   follows it, and inside an aggregate it does not count as an element.
 * - All state survives a chunk split at any byte, and a bulk that spans many chunks is joined
 *   once (see InputBuffer).
 */
import { InputBuffer, parseInteger } from './input-buffer.js';

export { decodeReply, ErrorReply, PushReply, VerbatimString, type RespValue } from './reply-value.js';

/** One whole top-level reply. */
export interface FramedReply {
  /** The reply's bytes as received, attributes before it included. A view into the input. */
  bytes: Buffer;
  /** Whether the reply is a RESP3 push (`>`) at top level. */
  push: boolean;
}

/** Upstream bytes that are not valid RESP2 or RESP3. */
export class ReplyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplyProtocolError';
  }
}

export interface ReplyFramerOptions {
  /** Maximum nesting of aggregates, attributes included. Callers default to 1000. */
  maxDepth: number;
  /** Maximum length of a bulk, verbatim or blob error, and of a simple string or error line. */
  maxBulkLength: number;
}

const CR = 0x0d;
const LF = 0x0a;
/** A count or length line has at most a sign and 20 digits, so 64 bytes leave room to spare. */
const MAX_HEADER_LINE = 64;
/** Longest `+` or `-` line content that `readCommonLine` scans; longer lines take the exact path. */
const MAX_COMMON_TEXT_LINE = 64;
/** Results of `readCommonLine`. */
const UNCOMMON = -1;
const INCOMPLETE = 0;
const COMPLETE = 1;
/** Larger counts cannot be tracked exactly in a JS number once doubled for maps. */
const MAX_AGGREGATE_COUNT = 2 ** 52;

/** Frames a stream of upstream replies into whole top-level replies. */
export class ReplyFramer {
  private readonly maxDepth: number;
  private readonly maxBulkLength: number;
  private readonly input = new InputBuffer();
  private failure: ReplyProtocolError | null = null;
  /** Elements still to read in each open aggregate, innermost last. */
  private readonly remaining: number[] = [];
  /** Whether each open aggregate is an attribute, parallel to `remaining`. */
  private readonly isAttribute: boolean[] = [];
  /** Data length of the bulk whose data is awaited, or -1 while a line is awaited. */
  private bulkLength = -1;
  private bulkType = 0;
  private push = false;

  constructor(options: ReplyFramerOptions) {
    this.maxDepth = options.maxDepth;
    this.maxBulkLength = options.maxBulkLength;
  }

  /** Appends a chunk read from the upstream socket. The framer keeps a reference to it. */
  feed(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    const input = this.input;
    const required = this.bulkLength >= 0 ? input.pos - input.start + this.bulkLength + 2 : 0;
    input.append(chunk, required);
  }

  /**
   * Returns the next whole top-level reply as its exact bytes, or null when more input is
   * needed. Throws ReplyProtocolError for invalid input, and on every call after that.
   */
  next(): FramedReply | null {
    if (this.failure) throw this.failure;
    const input = this.input;
    for (;;) {
      let complete: boolean;
      if (this.bulkLength >= 0) {
        if (!this.readBulkData()) return null;
        complete = this.completeElement();
      } else {
        if (input.pos >= input.end) return null;
        const common = this.readCommonLine();
        if (common !== UNCOMMON) {
          complete = common === COMPLETE;
        } else {
          const cr = this.findLineEnd();
          if (cr < 0) return null;
          complete = this.readLine(cr);
        }
      }
      if (complete) return this.emit();
    }
  }

  private emit(): FramedReply {
    const input = this.input;
    // A reply that is the whole input needs no new view: a view costs more than framing a short reply.
    const whole = input.start === 0 && input.pos === input.end;
    const reply: FramedReply = { bytes: whole ? input.bytes : input.view(input.start, input.pos), push: this.push };
    this.push = false;
    input.consume();
    return reply;
  }

  private fail(message: string): never {
    this.failure = new ReplyProtocolError(message);
    throw this.failure;
  }

  /**
   * Reads the line at the cursor when it has one of the forms most replies use and has fully
   * arrived: `+` and `-` lines of up to 64 bytes, `$` bulks, `*` arrays and `:` integers whose
   * numbers `parseLengthLine` accepts. A bulk's data is read too when it is already there.
   * Returns UNCOMMON, consuming nothing, for any other line, which `findLineEnd` and `readLine`
   * then read or reject.
   */
  private readCommonLine(): number {
    const input = this.input;
    const bytes = input.bytes;
    const pos = input.pos;
    switch (bytes[pos]) {
      case 0x2b: // + simple string
      case 0x2d: { // - simple error
        const limit = Math.min(input.end - 1, pos + 2 + Math.min(MAX_COMMON_TEXT_LINE, this.maxBulkLength));
        let at = pos + 1;
        while (at < limit && bytes[at] !== CR && bytes[at] !== LF) at++;
        if (at >= limit || bytes[at] !== CR || bytes[at + 1] !== LF) return UNCOMMON;
        input.pos = at + 2;
        break;
      }
      case 0x3a: // : integer
        if (input.parseLengthLine(pos + 1) < 0) return UNCOMMON;
        input.pos = input.lineNext;
        break;
      case 0x24: { // $ bulk string
        const length = input.parseLengthLine(pos + 1);
        if (length < 0 || length > this.maxBulkLength) return UNCOMMON;
        input.pos = input.lineNext;
        const dataEnd = input.pos + length;
        if (dataEnd + 2 > input.end || bytes[dataEnd] !== CR || bytes[dataEnd + 1] !== LF) {
          // readBulkData waits for the data, or rejects it when no CRLF follows.
          this.bulkLength = length;
          this.bulkType = 0x24;
          return INCOMPLETE;
        }
        input.pos = dataEnd + 2;
        break;
      }
      case 0x2a: { // * array
        const count = input.parseLengthLine(pos + 1);
        if (count < 0 || (count > 0 && this.remaining.length >= this.maxDepth)) return UNCOMMON;
        input.pos = input.lineNext;
        if (count > 0) {
          this.remaining.push(count);
          this.isAttribute.push(false);
          return INCOMPLETE;
        }
        break;
      }
      default:
        return UNCOMMON;
    }
    return this.completeElement() ? COMPLETE : INCOMPLETE;
  }

  /** Returns the CR of the line at the cursor once the line and its LF have arrived, else -1. */
  private findLineEnd(): number {
    const input = this.input;
    if (input.available === 0) return -1;
    const type = input.bytes[input.pos]!;
    const isText = type === 0x2b || type === 0x2d || type === 0x2c || type === 0x28; // + - , (
    const maxLine = isText ? this.maxBulkLength : MAX_HEADER_LINE;

    const cr = input.indexOf(CR);
    if ((cr < 0 && input.available > maxLine + 1) || cr - input.pos > maxLine + 1) {
      this.fail(`reply line of type '${String.fromCharCode(type)}' is longer than ${maxLine} bytes`);
    }
    if (cr < 0 || cr + 1 >= input.end) return -1;
    if (input.bytes[cr + 1] !== LF) this.fail('reply line ends with CR without LF');
    return cr;
  }

  /** Reads the line [pos, cr) and moves past its CRLF. Returns whether a top-level reply is now whole. */
  private readLine(cr: number): boolean {
    const input = this.input;
    const bytes = input.bytes;
    const type = bytes[input.pos]!;
    const from = input.pos + 1;
    input.pos = cr + 2;

    switch (type) {
      case 0x2b: // + simple string
      case 0x2d: // - simple error
        if (bytes.subarray(from, cr).includes(LF)) this.fail('simple string or error contains LF');
        break;
      case 0x3a: // : integer
        if (parseInteger(bytes, from, cr) === null) this.fail('invalid integer reply');
        break;
      case 0x5f: // _ null
        if (cr !== from) this.fail('null reply has content');
        break;
      case 0x2c: // , double
        if (!isDouble(bytes.toString('latin1', from, cr))) this.fail('invalid double reply');
        break;
      case 0x23: // # boolean
        if (cr !== from + 1 || (bytes[from] !== 0x74 && bytes[from] !== 0x66)) this.fail('invalid boolean reply');
        break;
      case 0x28: // ( big number
        if (!/^[-+]?[0-9]+$/.test(bytes.toString('latin1', from, cr))) this.fail('invalid big number reply');
        break;
      case 0x24: // $ bulk string
      case 0x3d: // = verbatim string
      case 0x21: // ! blob error
        return this.readBulkLength(type, from, cr);
      case 0x2a: // * array
      case 0x7e: // ~ set
      case 0x3e: // > push
      case 0x25: // % map
      case 0x7c: // | attribute
        return this.openAggregate(type, from, cr);
      default:
        this.fail(`invalid reply type byte 0x${type.toString(16).padStart(2, '0')}`);
    }
    return this.completeElement();
  }

  private readBulkLength(type: number, from: number, cr: number): boolean {
    const length = parseInteger(this.input.bytes, from, cr);
    if (length === -1 && type === 0x24) return this.completeElement();
    if (length === null || length < 0) this.fail('invalid bulk length in reply');
    if (length > this.maxBulkLength) this.fail(`bulk reply of ${length} bytes exceeds the maximum of ${this.maxBulkLength}`);
    if (type === 0x3d && length < 4) this.fail('verbatim string shorter than its format prefix');
    this.bulkLength = length;
    this.bulkType = type;
    return false;
  }

  /** Reads bulk data and its CRLF. Returns false while they have not all arrived. */
  private readBulkData(): boolean {
    const input = this.input;
    if (input.available < this.bulkLength + 2) return false;
    const dataEnd = input.pos + this.bulkLength;
    if (input.bytes[dataEnd] !== CR || input.bytes[dataEnd + 1] !== LF) this.fail('bulk reply data not followed by CRLF');
    // A verbatim string starts with a three-byte format and a colon, as in "txt:".
    if (this.bulkType === 0x3d && input.bytes[input.pos + 3] !== 0x3a) this.fail('verbatim string without a format prefix');
    input.pos = dataEnd + 2;
    this.bulkLength = -1;
    return true;
  }

  private openAggregate(type: number, from: number, cr: number): boolean {
    const count = parseInteger(this.input.bytes, from, cr);
    if (count === -1 && type === 0x2a) return this.completeElement();
    if (count === null || count < 0 || count > MAX_AGGREGATE_COUNT) this.fail('invalid aggregate length in reply');
    if (type === 0x3e && this.remaining.length === 0) this.push = true;

    const isPairs = type === 0x25 || type === 0x7c;
    const elements = isPairs ? count * 2 : count;
    if (elements === 0) {
      // An empty attribute still precedes a value, which takes its place.
      return type === 0x7c ? false : this.completeElement();
    }
    if (this.remaining.length >= this.maxDepth) this.fail(`reply nesting exceeds the maximum depth of ${this.maxDepth}`);
    this.remaining.push(elements);
    this.isAttribute.push(type === 0x7c);
    return false;
  }

  /**
   * Counts one finished element against the open aggregates and closes those that are full.
   * Returns whether the top-level reply is whole.
   */
  private completeElement(): boolean {
    const remaining = this.remaining;
    while (remaining.length > 0) {
      const top = remaining.length - 1;
      remaining[top]!--;
      if (remaining[top]! > 0) return false;
      remaining.pop();
      // A closed attribute is not an element. The value after it takes the slot in the parent.
      if (this.isAttribute.pop()) return false;
    }
    return true;
  }
}

/**
 * Returns whether `text` is a RESP3 double: what Redis 7.0 writes ("%.17g", which includes "nan"
 * and "-nan", or "inf" and "-inf") and the other decimal forms.
 */
function isDouble(text: string): boolean {
  return /^[-+]?(?:inf|nan|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)$/i.test(text);
}
