/**
 * Request decoder: the first step of the data path. Client socket chunks go in, and whole
 * commands come out, one per `next()` call, for the session to look up, check and forward.
 *
 * It accepts what Redis 7.0 accepts (processMultibulkBuffer() and processInlineBuffer() in
 * src/networking.c) and rejects the rest with Redis's error texts, checked against
 * redis-server 7.0.15:
 * - A request that starts with `*` is multibulk. Anything else is an inline line.
 * - Counts and lengths follow string2ll(): no `+`, no leading zero, 64-bit range.
 * - A count of zero or less is an empty request and is skipped, as is an empty inline line.
 * - Before authentication at most 10 arguments of at most 16384 bytes each are accepted.
 * - More buffered input than `maxQueryBuffer` closes the connection without a reply, as Redis
 *   does past client-query-buffer-limit.
 * - POST and Host: as command names (HTTP sent to the port) close the connection without a reply.
 *
 * Where respguard is stricter than Redis 7.0, on purpose:
 * - Redis skips the two bytes after a count or length line and after bulk data without looking
 *   at them. Here they must be CRLF ("missing LF after CR", "missing CRLF after bulk data"), so
 *   the `raw` bytes that are forwarded are exactly the bytes that were validated.
 * - A line end must come within 64 KiB whatever the chunking. Redis checks the length only while
 *   no line end has arrived, so for Redis a longer line passes when it arrives in one read.
 * - The 10-argument and 16384-byte caps before authentication, and the configured argument and
 *   length limits, apply to inline commands too. Redis 7.0 applies them to multibulk only.
 * - `maxMultibulkLength` is a limit of respguard's own. Redis 7.0 accepts counts up to INT_MAX.
 * - Before authentication the query buffer limit is 1 MiB. Redis 7.0 has no separate limit then.
 *
 * Arguments and `raw` are views into the input (quoted inline arguments excepted), which the
 * decoder never writes again. After a protocol error the decoder stays failed.
 */
import { InputBuffer, parseInteger } from './input-buffer.js';
import { splitInlineArgs } from './inline.js';
import {
  PRE_AUTH_MAX_ARGS,
  PRE_AUTH_MAX_BULK_LENGTH,
  PRE_AUTH_MAX_QUERY_BUFFER,
  PROTO_INLINE_MAX_SIZE,
  ProtocolError,
  type DecoderLimits,
  invalidBulkLength,
  invalidMultibulkLength,
  unauthenticatedBulkLength,
  unauthenticatedMultibulkLength,
} from './protocol-error.js';

export {
  DEFAULT_DECODER_LIMITS,
  PRE_AUTH_MAX_ARGS,
  PRE_AUTH_MAX_BULK_LENGTH,
  PRE_AUTH_MAX_QUERY_BUFFER,
  PROTO_INLINE_MAX_SIZE,
  ProtocolError,
  type DecoderLimits,
  type ProtocolErrorKind,
} from './protocol-error.js';

/** One decoded command. */
export class DecodedCommand {
  /** Arguments, where args[0] is the command name. Views into the input where possible. */
  readonly args: Buffer[];
  /** The input that contains the request's bytes, or null for an inline command. */
  private readonly source: Buffer | null;
  private readonly rawStart: number;
  private readonly rawEnd: number;
  private rawView: Buffer | null = null;

  constructor(args: Buffer[], source: Buffer | null, rawStart: number, rawEnd: number) {
    this.args = args;
    this.source = source;
    this.rawStart = rawStart;
    this.rawEnd = rawEnd;
  }

  /**
   * For a multibulk request, the exact bytes that were validated (from `*` to the last CRLF),
   * to forward as they are. null for an inline command, which the proxy re-encodes.
   *
   * The view is made on the first read: commands that respguard replies to itself never need it,
   * and a view costs about as much as decoding a short argument.
   */
  get raw(): Buffer | null {
    const source = this.source;
    if (this.rawView === null && source !== null) {
      // A client that waits for each reply sends one request per read, which is then the whole input.
      const whole = this.rawStart === 0 && this.rawEnd === source.length;
      this.rawView = whole ? source : source.subarray(this.rawStart, this.rawEnd);
    }
    return this.rawView;
  }
}

const CR = 0x0d;
const LF = 0x0a;
const STAR = 0x2a;
const DOLLAR = 0x24;
const INT_MAX = 2147483647;
/** Command names that Redis takes for HTTP sent to its port (lowercase). */
const POST = Buffer.from('post');
const HOST = Buffer.from('host:');

/** Arguments that `readArgs` allocates before any has arrived. */
const MAX_PREALLOCATED_ARGS = 64;
/** Placeholder for `args` between requests. Never written, because `readArgs` replaces it first. */
const NO_ARGS: Buffer[] = [];

/** Returned by a decoding step that consumed an empty request. */
const SKIPPED = Symbol('skipped');

/** Decodes client requests in Redis's multibulk and inline forms. */
export class RequestDecoder {
  /**
   * Whether the client has authenticated, set by the session. While false, the pre-auth limits
   * apply: at most 10 arguments per command, 16384 bytes per argument and 1 MiB of buffered input.
   */
  authenticated = false;

  private readonly limits: DecoderLimits;
  private readonly input = new InputBuffer();
  private failure: ProtocolError | null = null;
  /** Arguments still to read in the multibulk request being decoded, or 0 between requests. */
  private argsLeft = 0;
  private args: Buffer[] = NO_ARGS;
  /** Number of arguments of the multibulk request being decoded. */
  private argCount = 0;
  /** Length of the bulk whose data is awaited, or -1 while its `$` line is awaited. */
  private bulkLength = -1;

  constructor(limits: DecoderLimits) {
    this.limits = limits;
  }

  /** Bytes buffered and not yet returned as commands. */
  get bufferedBytes(): number {
    return this.input.buffered;
  }

  /**
   * Appends a chunk read from the socket. The decoder keeps a reference to it, so the caller must
   * not modify it afterwards. Throws ProtocolError as soon as buffered input crosses the query
   * buffer limit, and rethrows an earlier ProtocolError.
   */
  feed(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    const required = this.argsLeft > 0 && this.bulkLength >= 0
      ? this.input.pos - this.input.start + this.bulkLength + 2
      : 0;
    this.input.append(chunk, required);

    const limit = this.authenticated
      ? this.limits.maxQueryBuffer
      : Math.min(this.limits.maxQueryBuffer, PRE_AUTH_MAX_QUERY_BUFFER);
    if (this.input.buffered > limit) {
      this.fail(new ProtocolError('query_buffer_limit', null, `client query buffer exceeds ${limit} bytes`));
    }
  }

  /**
   * Returns the next whole command, or null when more input is needed. Decodes one command per
   * call, because the session may change `authenticated` between two commands of one chunk.
   * Throws ProtocolError for input that Redis rejects, and on every call after that.
   */
  next(): DecodedCommand | null {
    if (this.failure) throw this.failure;
    const input = this.input;
    for (;;) {
      let command: DecodedCommand | null | typeof SKIPPED;
      if (this.argsLeft > 0) command = this.readBulks();
      else if (input.pos >= input.end) return null;
      else if (input.bytes[input.pos] === STAR) command = this.readMultibulkCount();
      else command = this.readInline();

      if (command === null) return null;
      input.consume();
      if (command !== SKIPPED) {
        this.rejectCrossProtocol(command.args[0]!);
        return command;
      }
    }
  }

  private fail(error: ProtocolError): never {
    this.failure = error;
    throw error;
  }

  /**
   * Finds the CR that ends the count or length line at the cursor. Returns -1 while the line or
   * the byte after its CR has not arrived yet.
   */
  private findLineEnd(kind: 'too_big_mbulk_count' | 'too_big_bulk_count'): number {
    const input = this.input;
    const cr = input.indexOf(CR);
    if ((cr < 0 && input.available > PROTO_INLINE_MAX_SIZE) || cr - input.pos > PROTO_INLINE_MAX_SIZE) {
      this.fail(ProtocolError.tooBigLine(kind));
    }
    if (cr < 0 || cr + 1 >= input.end) return -1;
    return cr;
  }

  private requireLf(cr: number): void {
    if (this.input.bytes[cr + 1] !== LF) {
      this.fail(new ProtocolError('missing_lf', 'ERR Protocol error: missing LF after CR'));
    }
  }

  /** Reads the `*<count>` line, then as many bulks as have arrived. */
  private readMultibulkCount(): DecodedCommand | null | typeof SKIPPED {
    const input = this.input;
    const common = input.parseLengthLine(input.pos + 1);
    if (common > 0 && common <= INT_MAX && common <= this.limits.maxMultibulkLength && (this.authenticated || common <= PRE_AUTH_MAX_ARGS)) {
      input.pos = input.lineNext;
      return this.readArgs(common);
    }

    const cr = this.findLineEnd('too_big_mbulk_count');
    if (cr < 0) return null;

    const count = parseInteger(input.bytes, input.pos + 1, cr);
    if (count === null || count > INT_MAX || count > this.limits.maxMultibulkLength) {
      this.fail(invalidMultibulkLength());
    }
    if (count > PRE_AUTH_MAX_ARGS && !this.authenticated) this.fail(unauthenticatedMultibulkLength());
    this.requireLf(cr);
    input.pos = cr + 2;
    if (count <= 0) return SKIPPED;
    return this.readArgs(count);
  }

  /** Starts a multibulk request of `count` arguments and reads as many as have arrived. */
  private readArgs(count: number): DecodedCommand | null {
    this.argsLeft = count;
    this.argCount = count;
    // Sized up front like redis-parser does: growing by push allocates a larger backing store.
    // A count beyond the cap grows as arguments arrive, so that a count alone reserves little memory.
    this.args = new Array<Buffer>(Math.min(count, MAX_PREALLOCATED_ARGS));
    this.bulkLength = -1;
    return this.readBulks();
  }

  /** Reads `$<length>` lines and bulk data until the request is whole or input runs out. */
  private readBulks(): DecodedCommand | null {
    const input = this.input;
    const args = this.args;
    while (this.argsLeft > 0) {
      if (this.bulkLength < 0 && !this.readCommonBulkLength() && !this.readBulkLength()) return null;
      const bytes = input.bytes;
      const dataEnd = input.pos + this.bulkLength;
      if (dataEnd + 2 > input.end) return null;

      if (bytes[dataEnd] !== CR || bytes[dataEnd + 1] !== LF) {
        this.fail(new ProtocolError('missing_crlf_after_bulk', 'ERR Protocol error: missing CRLF after bulk data'));
      }
      args[this.argCount - this.argsLeft] = input.view(input.pos, dataEnd);
      input.pos = dataEnd + 2;
      this.bulkLength = -1;
      this.argsLeft--;
    }
    // The decoder lets go of the arguments, which keep the input they view alive.
    this.args = NO_ARGS;
    return new DecodedCommand(args, input.bytes, input.start, input.pos);
  }

  /**
   * Reads a `$<length>` line of the common form within the limits (see `parseLengthLine`) into
   * `bulkLength`. Returns false, consuming nothing, for any other line, which `readBulkLength`
   * then reads or rejects.
   */
  private readCommonBulkLength(): boolean {
    const input = this.input;
    if (input.pos >= input.end || input.bytes[input.pos] !== DOLLAR) return false;
    const length = input.parseLengthLine(input.pos + 1);
    if (length < 0 || length > this.limits.maxBulkLength || (!this.authenticated && length > PRE_AUTH_MAX_BULK_LENGTH)) return false;
    input.pos = input.lineNext;
    this.bulkLength = length;
    return true;
  }

  /** Reads one `$<length>` line into `bulkLength`. Returns false while the line is incomplete. */
  private readBulkLength(): boolean {
    const input = this.input;
    const cr = this.findLineEnd('too_big_bulk_count');
    if (cr < 0) return false;

    const first = input.bytes[input.pos]!;
    if (first !== DOLLAR) this.fail(ProtocolError.expectedDollar(first));
    const length = parseInteger(input.bytes, input.pos + 1, cr);
    if (length === null || length < 0 || length > this.limits.maxBulkLength) this.fail(invalidBulkLength());
    if (length > PRE_AUTH_MAX_BULK_LENGTH && !this.authenticated) this.fail(unauthenticatedBulkLength());
    this.requireLf(cr);

    input.pos = cr + 2;
    this.bulkLength = length;
    return true;
  }

  /** Reads one inline line: up to LF, without a CR right before it. */
  private readInline(): DecodedCommand | null | typeof SKIPPED {
    const input = this.input;
    const lf = input.indexOf(LF);
    if ((lf < 0 && input.available > PROTO_INLINE_MAX_SIZE) || lf - input.pos > PROTO_INLINE_MAX_SIZE) {
      this.fail(ProtocolError.tooBigLine('too_big_inline_request'));
    }
    if (lf < 0) return null;

    let lineEnd = lf;
    if (lineEnd > input.pos && input.bytes[lineEnd - 1] === CR) lineEnd--;
    const args = splitInlineArgs(input.bytes.subarray(input.pos, lineEnd));
    if (args === null) {
      this.fail(new ProtocolError('unbalanced_quotes', 'ERR Protocol error: unbalanced quotes in request'));
    }
    input.pos = lf + 1;
    if (args.length === 0) return SKIPPED;

    this.checkInlineLimits(args);
    return new DecodedCommand(args, null, 0, 0);
  }

  /** Applies the multibulk count and length limits to an inline command. */
  private checkInlineLimits(args: Buffer[]): void {
    if (args.length > this.limits.maxMultibulkLength) this.fail(invalidMultibulkLength());
    if (args.length > PRE_AUTH_MAX_ARGS && !this.authenticated) this.fail(unauthenticatedMultibulkLength());
    for (const arg of args) {
      if (arg.length > this.limits.maxBulkLength) this.fail(invalidBulkLength());
      if (arg.length > PRE_AUTH_MAX_BULK_LENGTH && !this.authenticated) this.fail(unauthenticatedBulkLength());
    }
  }

  /** Rejects POST and Host:, so that the session closes the connection without a reply, as Redis does. */
  private rejectCrossProtocol(name: Buffer): void {
    if (equalsIgnoreCase(name, POST) || equalsIgnoreCase(name, HOST)) {
      this.fail(new ProtocolError('cross_protocol', null, `command name '${name.toString('latin1')}' looks like an HTTP request`));
    }
  }
}

/** Compares `name` with a lowercase ASCII name, ignoring the case of letters in `name`. */
function equalsIgnoreCase(name: Buffer, lowercase: Buffer): boolean {
  if (name.length !== lowercase.length) return false;
  for (let i = 0; i < name.length; i++) {
    const byte = name[i]!;
    const folded = byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
    if (folded !== lowercase[i]) return false;
  }
  return true;
}
