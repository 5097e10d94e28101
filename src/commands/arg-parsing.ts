/**
 * Byte-level argument tests that reproduce the C functions Redis 7.0 uses when it looks for keys,
 * so that key extraction agrees with Redis on odd input too. They are strcasecmp (which stops at
 * the first NUL byte), atoi (leading blanks, trailing junk, 32-bit truncation) and Redis's strict
 * string2ll. All of them read Buffers in place.
 */

/** Lower-cases an ASCII letter byte and leaves every other byte as it is. */
export function lowerAscii(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/**
 * Tests whether `arg` read as a C string equals `lowerKeyword` ignoring ASCII case, like
 * `strcasecmp(arg, keyword) == 0`. The argument ends at its first NUL byte, so `STORE\0x`
 * matches `store`. `lowerKeyword` must be lower case and contain no NUL byte.
 */
export function equalsKeyword(arg: Buffer, lowerKeyword: Buffer): boolean {
  const length = lowerKeyword.length;
  if (arg.length < length) return false;
  for (let i = 0; i < length; i++) {
    if (lowerAscii(arg[i]!) !== lowerKeyword[i]) return false;
  }
  return arg.length === length || arg[length] === 0;
}

/** Returns `true` for the bytes C's isspace accepts in the "C" locale. */
function isCSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Up to this many decimal digits the value stays exact in a double, so no BigInt is needed. */
const EXACT_DIGITS = 15;

/**
 * Parses `arg` as glibc's `atoi` does. It skips leading blanks, takes an optional sign and the
 * digits that follow, and stops at anything else (0 when there are no digits). Like strtol it
 * saturates at the 64-bit range, and like the cast to int it then keeps the low 32 bits.
 */
export function atoi(arg: Buffer): number {
  let i = 0;
  while (i < arg.length && isCSpace(arg[i]!)) i++;

  let negative = false;
  if (i < arg.length && (arg[i] === 0x2b || arg[i] === 0x2d)) {
    negative = arg[i] === 0x2d;
    i++;
  }

  const start = i;
  while (i < arg.length && isDigit(arg[i]!)) i++;
  if (i === start) return 0;

  if (i - start <= EXACT_DIGITS) {
    const value = decimalValue(arg, start, i);
    return (negative ? -value : value) | 0;
  }
  let value = BigInt(arg.toString('latin1', start, i));
  if (negative) value = -value;
  if (value > INT64_MAX) value = INT64_MAX;
  if (value < INT64_MIN) value = INT64_MIN;
  return Number(BigInt.asIntN(32, value));
}

/** Redis's LONG_STR_SIZE: string2ll rejects arguments of this many bytes or more. */
const MAX_INTEGER_BYTES = 21;

/**
 * Parses a key count the way Redis 7.0's key-spec search reads `numkeys`. string2ll must accept
 * the whole argument: a decimal integer in the signed 64-bit range, without `+`, blanks or
 * leading zeros. A negative count is invalid, and a valid one is cast to a 32-bit int.
 * Returns undefined where Redis treats the key spec as invalid.
 */
export function parseKeyCount(arg: Buffer): number | undefined {
  if (arg.length === 0 || arg.length >= MAX_INTEGER_BYTES) return undefined;
  if (arg.length === 1 && arg[0] === 0x30) return 0;
  // A valid negative number is rejected as a count all the same, and "-0" is invalid syntax.
  if (arg[0]! < 0x31 || arg[0]! > 0x39) return undefined;
  for (let i = 1; i < arg.length; i++) {
    if (!isDigit(arg[i]!)) return undefined;
  }

  if (arg.length <= EXACT_DIGITS) return decimalValue(arg, 0, arg.length) | 0;
  const value = BigInt(arg.toString('latin1'));
  if (value > INT64_MAX) return undefined;
  return Number(BigInt.asIntN(32, value));
}

/**
 * Tests whether Redis's string2ll accepts the whole argument, as getLongLongFromObject and
 * getLongFromObject do for option values such as SORT's LIMIT: a decimal integer in the signed
 * 64-bit range, without `+`, blanks, leading zeros or trailing bytes, and not `-0`.
 */
export function isStrictInteger(arg: Buffer): boolean {
  if (arg.length === 0 || arg.length >= MAX_INTEGER_BYTES) return false;
  if (arg.length === 1 && arg[0] === 0x30) return true;
  const negative = arg[0] === 0x2d;
  const start = negative ? 1 : 0;
  if (start >= arg.length || arg[start]! < 0x31 || arg[start]! > 0x39) return false;
  for (let i = start + 1; i < arg.length; i++) {
    if (!isDigit(arg[i]!)) return false;
  }
  if (arg.length - start <= EXACT_DIGITS) return true;
  const value = BigInt(arg.toString('latin1'));
  return value >= INT64_MIN && value <= INT64_MAX;
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

/** Reads the ASCII digits in arg[start..end), at most EXACT_DIGITS of them. */
function decimalValue(arg: Buffer, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) value = value * 10 + (arg[i]! - 0x30);
  return value;
}
