/**
 * Argument splitting for inline requests (`SET key "a b"\r\n`), the form telnet users and
 * health checks send. The request decoder cuts the line and this module turns it into
 * arguments with the rules of sdssplitargs() in Redis 7.0 (src/sds.c), so that respguard's
 * policy check gets the arguments that Redis would get from the same line.
 *
 * The rules, checked against redis-server 7.0.15 by sending `ECHO` lines:
 * - Blanks between arguments are space, \t, \n, \v, \f and \r (C isspace()). Inside an unquoted
 *   argument only space, \t, \n and \r end it, so `a\vb` is one argument.
 * - A quote may open in the middle of an argument: `a"b c"` is the single argument `ab c`.
 * - Double quotes understand \xHH (two hex digits), \n, \r, \t, \b and \a. A backslash before
 *   any other byte, or before an `x` without two hex digits, stands for that byte.
 * - Single quotes understand only \' and keep every other backslash.
 * - A closing quote must be followed by a blank or the end of the line, and every quote must
 *   be closed. Otherwise the whole line is rejected.
 *
 * NOTE: a NUL byte is an ordinary byte here. Redis 7.0 never executes an inline line that
 * contains NUL, because it searches for the line end with strchr() and waits forever. The proxy
 * re-encodes inline commands as multibulk, so upstream runs exactly the arguments split here.
 */

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const VT = 0x0b;
const FF = 0x0c;
const CR = 0x0d;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;

/** Bytes that C isspace() accepts in the "C" locale: these separate arguments. */
function isBlank(byte: number): boolean {
  return byte === SPACE || byte === TAB || byte === LF || byte === VT || byte === FF || byte === CR;
}

/** Bytes that end an unquoted argument. \v and \f do not, as in sdssplitargs(). */
function endsUnquoted(byte: number): boolean {
  return byte === SPACE || byte === TAB || byte === LF || byte === CR;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}

function unescapeDoubleQuoted(byte: number): number {
  switch (byte) {
    case 0x6e: return LF; // \n
    case 0x72: return CR; // \r
    case 0x74: return TAB; // \t
    case 0x62: return 0x08; // \b
    case 0x61: return 0x07; // \a
    default: return byte;
  }
}

/**
 * Splits an inline request line (without its line end) into arguments with Redis's
 * sdssplitargs() rules. Returns null when a quote is unbalanced or a closing quote is followed
 * by something other than a blank. An empty or blank line returns an empty array.
 *
 * Arguments without quotes are views into `line`. Quoted arguments are new Buffers.
 */
export function splitInlineArgs(line: Buffer): Buffer[] | null {
  const args: Buffer[] = [];
  // A quoted argument is never longer than the line, so one scratch buffer fits any of them.
  let scratch: Buffer | null = null;
  let at = 0;
  for (;;) {
    while (at < line.length && isBlank(line[at]!)) at++;
    if (at >= line.length) return args;

    const start = at;
    while (at < line.length && !endsUnquoted(line[at]!) && !isQuote(line[at]!)) at++;
    if (at >= line.length || !isQuote(line[at]!)) {
      args.push(line.subarray(start, at));
      continue;
    }

    // A quote opened inside the argument: the plain bytes before it belong to the argument too.
    scratch ??= Buffer.allocUnsafe(line.length);
    const prefixLength = line.copy(scratch, 0, start, at);
    const end = line[at] === DOUBLE_QUOTE
      ? readDoubleQuoted(line, at + 1, scratch, prefixLength)
      : readSingleQuoted(line, at + 1, scratch, prefixLength);
    if (end === null) return null;
    // The closing quote ends the argument, and only a blank or the line end may follow it.
    if (end.next < line.length && !isBlank(line[end.next]!)) return null;
    args.push(Buffer.from(scratch.subarray(0, end.written)));
    at = end.next;
  }
}

function isQuote(byte: number): boolean {
  return byte === DOUBLE_QUOTE || byte === SINGLE_QUOTE;
}

interface QuotedEnd {
  /** Bytes in the scratch buffer after the quoted part was appended. */
  written: number;
  /** Offset just past the closing quote. */
  next: number;
}

/** Appends a double-quoted part that starts after the opening quote. Returns null if it never closes. */
function readDoubleQuoted(line: Buffer, from: number, out: Buffer, written: number): QuotedEnd | null {
  let at = from;
  while (at < line.length) {
    const byte = line[at]!;
    if (byte === BACKSLASH && at + 1 < line.length) {
      const next = line[at + 1]!;
      if (next === 0x78 && at + 3 < line.length) {
        const high = hexValue(line[at + 2]!);
        const low = hexValue(line[at + 3]!);
        if (high >= 0 && low >= 0) {
          out[written++] = high * 16 + low;
          at += 4;
          continue;
        }
      }
      out[written++] = unescapeDoubleQuoted(next);
      at += 2;
      continue;
    }
    if (byte === DOUBLE_QUOTE) return { written, next: at + 1 };
    out[written++] = byte;
    at++;
  }
  return null;
}

/** Appends a single-quoted part that starts after the opening quote. Returns null if it never closes. */
function readSingleQuoted(line: Buffer, from: number, out: Buffer, written: number): QuotedEnd | null {
  let at = from;
  while (at < line.length) {
    const byte = line[at]!;
    if (byte === BACKSLASH && line[at + 1] === SINGLE_QUOTE) {
      out[written++] = SINGLE_QUOTE;
      at += 2;
      continue;
    }
    if (byte === SINGLE_QUOTE) return { written, next: at + 1 };
    out[written++] = byte;
    at++;
  }
  return null;
}
