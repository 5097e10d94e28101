/**
 * Splits a rule string into the operations that Redis 7.0's ACL SETUSER would apply, in order.
 * The string is first split on whitespace, as if each word were one ACL SETUSER argument. Words
 * of a selector written with spaces, `(~key:* +get)`, are then joined back into one operation,
 * and the inside of a selector is split again with Redis's sdssplitargs quoting rules.
 * Operations are byte strings because passwords and patterns are bytes.
 */

/** Raised for a selector that is never closed; the message is Redis's reply without `ERR `. */
export class RuleSyntaxError extends Error {}

const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;
const SPACE = 0x20;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;

/** True for the bytes C's isspace accepts in the C locale. */
export function isSpaceByte(byte: number): boolean {
  return byte === SPACE || (byte >= 0x09 && byte <= 0x0d);
}

/** Splits `rules` (UTF-8) on whitespace into words. */
export function splitWords(rules: string): Buffer[] {
  const bytes = Buffer.from(rules, 'utf8');
  const words: Buffer[] = [];
  let start = -1;
  for (let i = 0; i <= bytes.length; i++) {
    const boundary = i === bytes.length || isSpaceByte(bytes[i]!);
    if (boundary && start >= 0) {
      words.push(bytes.subarray(start, i));
      start = -1;
    } else if (!boundary && start < 0) {
      start = i;
    }
  }
  return words;
}

/** Returns the bytes before the first NUL, which is what C string functions see. */
export function cString(bytes: Buffer): Buffer {
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes : bytes.subarray(0, nul);
}

/**
 * Joins the words of selectors written across several words, as ACLMergeSelectorArguments does
 * in Redis 7.0. A word that starts with `(` and does not end with `)` opens a selector, and the
 * following words join it, each after one space, until a word ends with `)`. A word starting
 * with `(` inside an open selector starts it over, dropping the words gathered so far. Throws
 * RuleSyntaxError when a selector is still open at the end.
 */
export function mergeSelectorWords(words: readonly Buffer[]): Buffer[] {
  const merged: Buffer[] = [];
  let open: Buffer[] | undefined;
  for (const word of words) {
    const last = word[word.length - 1];
    if (word[0] === OPEN_PAREN && last !== CLOSE_PAREN) {
      open = [word];
      continue;
    }
    if (open) {
      // Redis appends each word with %s, which stops at a NUL byte.
      open.push(Buffer.from(' '), cString(word));
      if (last === CLOSE_PAREN) {
        merged.push(Buffer.concat(open));
        open = undefined;
      }
      continue;
    }
    merged.push(word);
  }
  if (open) {
    throw new RuleSyntaxError(
      `Unmatched parenthesis in acl selector starting at '${cString(open[0]!).toString('utf8')}'.`,
    );
  }
  return merged;
}

/**
 * Splits the inside of a selector as Redis's sdssplitargs does: blanks separate words, and
 * "double" or 'single' quotes group bytes, with `\n`, `\xHH` and similar escapes inside double
 * quotes. A closing quote must be followed by a blank or the end. Returns undefined where
 * sdssplitargs fails (an unbalanced quote or a quote followed by another byte); Redis then
 * creates the selector with no operations at all.
 */
export function splitSelectorBody(body: Buffer): Buffer[] | undefined {
  const words: Buffer[] = [];
  let i = 0;
  for (;;) {
    while (i < body.length && isSpaceByte(body[i]!)) i++;
    // sdssplitargs reads a C string, so a NUL byte ends the input.
    if (i >= body.length || body[i] === 0) return words;
    const word: number[] = [];
    const end = readSplitWord(body, i, word);
    if (end < 0) return undefined;
    words.push(Buffer.from(word));
    i = end;
  }
}

/** Reads one sdssplitargs word starting at `i` into `out`; returns the index after it, or -1. */
function readSplitWord(body: Buffer, start: number, out: number[]): number {
  let i = start;
  let quote = 0;
  const at = (index: number): number => (index < body.length ? body[index]! : 0);
  for (;;) {
    const byte = at(i);
    if (quote === DOUBLE_QUOTE) {
      if (byte === BACKSLASH && at(i + 1) === 0x78 && isHexDigit(at(i + 2)) && isHexDigit(at(i + 3))) {
        out.push(parseInt(String.fromCharCode(at(i + 2), at(i + 3)), 16));
        i += 3;
      } else if (byte === BACKSLASH && at(i + 1) !== 0) {
        i++;
        out.push(unescapeByte(at(i)));
      } else if (byte === DOUBLE_QUOTE) {
        if (at(i + 1) !== 0 && !isSpaceByte(at(i + 1))) return -1;
        return i + 1;
      } else if (byte === 0) {
        return -1;
      } else {
        out.push(byte);
      }
    } else if (quote === SINGLE_QUOTE) {
      if (byte === BACKSLASH && at(i + 1) === SINGLE_QUOTE) {
        i++;
        out.push(SINGLE_QUOTE);
      } else if (byte === SINGLE_QUOTE) {
        if (at(i + 1) !== 0 && !isSpaceByte(at(i + 1))) return -1;
        return i + 1;
      } else if (byte === 0) {
        return -1;
      } else {
        out.push(byte);
      }
    } else if (byte === SPACE || byte === 0x0a || byte === 0x0d || byte === 0x09 || byte === 0) {
      return i;
    } else if (byte === DOUBLE_QUOTE || byte === SINGLE_QUOTE) {
      quote = byte;
    } else {
      out.push(byte);
    }
    i++;
  }
}

function isHexDigit(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

/** Maps the byte after a backslash in double quotes to the byte it stands for. */
function unescapeByte(byte: number): number {
  switch (byte) {
    case 0x6e: return 0x0a; // \n
    case 0x72: return 0x0d; // \r
    case 0x74: return 0x09; // \t
    case 0x62: return 0x08; // \b
    case 0x61: return 0x07; // \a
    default: return byte;
  }
}
