/**
 * Glob patterns of ACL rules (`~pattern`, `&pattern`), matched exactly as Redis 7.0's
 * stringmatchlen matches them with case sensitivity on. Patterns are compiled once, when a user
 * is compiled. Matching then runs in O(pattern × subject) steps without recursion and without
 * allocation, so no pattern, however many `*` it has, can stall the proxy.
 *
 * Quirks of stringmatchlen that this module keeps, because a rule must match the same keys as it
 * would in Redis:
 * - `*` never matches the empty subject on its own: `*` and `a*b*` fail on "" (Redis's `~*`
 *   still allows the empty key, because `~*` sets the all-keys flag and skips matching).
 * - A `[` class without a closing `]` takes the rest of the pattern as its members.
 * - In a class, `x-y` is a range even when `y` is `]`, and reversed ranges are swapped. Range
 *   bounds and the subject byte compare as signed chars, as in Redis built for x86-64, where C's
 *   char is signed. (A build where char is unsigned, such as aarch64 Linux, orders bytes >= 0x80
 *   differently in ranges.)
 * - A trailing lone `\` matches a backslash.
 */

/** Token codes below 0; codes 0..255 are literal bytes, codes >= CLASS_BASE index a class. */
const STAR = -1;
const ANY = -2;
const CLASS_BASE = 256;

const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const ASTERISK = 0x2a;
const QUESTION = 0x3f;

/** A compiled glob pattern. Immutable. */
export class GlobPattern {
  /** The pattern bytes as written in the rule. */
  readonly source: Buffer;
  private readonly tokens: Int32Array;
  /** One 256-entry membership table per `[...]` class, already inverted for `[^...]`. */
  private readonly classes: readonly Uint8Array[];
  /** The literal bytes when the pattern is only literal bytes, optionally followed by `*`. */
  private readonly literal: Buffer | undefined;
  /** Whether `literal` is a prefix (the pattern ends with `*`) rather than the whole subject. */
  private readonly prefixOnly: boolean = false;

  constructor(source: Buffer) {
    this.source = source;
    const tokens: number[] = [];
    const classes: Uint8Array[] = [];
    let i = 0;
    while (i < source.length) {
      const byte = source[i]!;
      if (byte === ASTERISK) {
        tokens.push(STAR);
      } else if (byte === QUESTION) {
        tokens.push(ANY);
      } else if (byte === OPEN_BRACKET) {
        const parsed = parseClass(source, i + 1);
        tokens.push(CLASS_BASE + classes.length);
        classes.push(parsed.members);
        i = parsed.end;
      } else if (byte === BACKSLASH && i + 1 < source.length) {
        i++;
        tokens.push(source[i]!);
      } else {
        tokens.push(byte);
      }
      i++;
    }
    this.tokens = Int32Array.from(tokens);
    this.classes = classes;

    // Most ACL patterns are a literal or a literal prefix and `*` (`cache:*`): match those by a
    // byte comparison.
    let literalCount = 0;
    while (literalCount < tokens.length && tokens[literalCount]! >= 0 && tokens[literalCount]! < CLASS_BASE) literalCount++;
    let starCount = 0;
    while (literalCount + starCount < tokens.length && tokens[literalCount + starCount] === STAR) starCount++;
    if (literalCount + starCount === tokens.length) {
      this.literal = Buffer.from(tokens.slice(0, literalCount));
      this.prefixOnly = starCount > 0;
    }
  }

  /** Tests `subject` (or its bytes from `start` to `end`) against the pattern. */
  matches(subject: Uint8Array, start = 0, end = subject.length): boolean {
    const tokens = this.tokens;
    const count = tokens.length;
    // stringmatchlen's main loop never runs on an empty subject, so only an empty pattern matches it.
    if (start >= end) return count === 0;
    const literal = this.literal;
    if (literal !== undefined) {
      const length = literal.length;
      if (this.prefixOnly ? end - start < length : end - start !== length) return false;
      for (let i = 0; i < length; i++) {
        if (subject[start + i] !== literal[i]) return false;
      }
      return true;
    }

    let t = 0;
    let s = start;
    let starToken = -1;
    let starSubject = start;
    while (s < end) {
      if (t < count && tokens[t] === STAR) {
        while (t + 1 < count && tokens[t + 1] === STAR) t++;
        if (t + 1 === count) return true;
        starToken = t;
        starSubject = s;
        t++;
        continue;
      }
      if (t < count && this.tokenMatches(tokens[t]!, subject[s]!)) {
        t++;
        s++;
        continue;
      }
      // Each non-star token takes exactly one byte, so retrying from the last star with one
      // more byte consumed by it finds every match that full backtracking would find.
      if (starToken < 0) return false;
      starSubject++;
      s = starSubject;
      t = starToken + 1;
    }
    while (t < count && tokens[t] === STAR) t++;
    return t === count;
  }

  private tokenMatches(token: number, byte: number): boolean {
    if (token === ANY) return true;
    if (token >= CLASS_BASE) return this.classes[token - CLASS_BASE]![byte] === 1;
    return token === byte;
  }
}

/** Compiles a pattern given as a Buffer, or as a string taken as UTF-8. */
export function compileGlob(pattern: Buffer | string): GlobPattern {
  return new GlobPattern(typeof pattern === 'string' ? Buffer.from(pattern, 'utf8') : pattern);
}

/** Reads a byte as the signed char that C compares in a class range. */
function signedChar(byte: number): number {
  return byte >= 0x80 ? byte - 0x100 : byte;
}

/**
 * Parses a class whose first member byte is at `from` (just after `[`). Returns the membership
 * table and the index of the class's last pattern byte: its `]`, or the last byte of the pattern
 * when no `]` closes it.
 */
function parseClass(source: Buffer, from: number): { members: Uint8Array; end: number } {
  const members = new Uint8Array(256);
  let i = from;
  const negated = i < source.length && source[i] === CARET;
  if (negated) i++;
  for (;;) {
    const left = source.length - i;
    if (left >= 2 && source[i] === BACKSLASH) {
      i++;
      members[source[i]!] = 1;
    } else if (left > 0 && source[i] === CLOSE_BRACKET) {
      break;
    } else if (left === 0) {
      i--;
      break;
    } else if (left >= 3 && source[i + 1] === DASH) {
      addRange(members, signedChar(source[i]!), signedChar(source[i + 2]!));
      i += 2;
    } else {
      members[source[i]!] = 1;
    }
    i++;
  }
  if (negated) {
    for (let byte = 0; byte < 256; byte++) members[byte] = members[byte] === 1 ? 0 : 1;
  }
  return { members, end: i };
}

function addRange(members: Uint8Array, first: number, last: number): void {
  const low = Math.min(first, last);
  const high = Math.max(first, last);
  for (let byte = 0; byte < 256; byte++) {
    const value = signedChar(byte);
    if (value >= low && value <= high) members[byte] = 1;
  }
}
