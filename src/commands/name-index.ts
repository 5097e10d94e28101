/**
 * A case-insensitive lookup of command names by their bytes. Every request goes through it
 * (command name, then subcommand name), so it hashes and compares the argument Buffer in place
 * instead of building a lower-case string for a Map.
 *
 * Case folding covers ASCII letters only, like the strcasecmp that Redis uses for command names.
 * Names are compared by their full length, so a name with a NUL byte never matches.
 */
import { lowerAscii } from './arg-parsing.js';

const EMPTY = -1;

/** An immutable map from command names, compared case-insensitively as bytes, to values. */
export class NameIndex<T> {
  /** Open-addressing slots holding an entry number or EMPTY; the length is a power of two. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly names: Buffer[] = [];
  private readonly values: T[] = [];
  private readonly maxLength: number;

  /**
   * Builds the index. Later entries replace earlier ones with the same name.
   */
  constructor(entries: Iterable<readonly [string, T]>) {
    const unique = new Map<string, T>();
    for (const [name, value] of entries) unique.set(name.toLowerCase(), value);

    let size = 8;
    while (size < unique.size * 2) size *= 2;
    this.slots = new Int32Array(size).fill(EMPTY);
    this.mask = size - 1;

    let maxLength = 0;
    for (const [name, value] of unique) {
      const bytes = Buffer.from(name, 'utf8');
      maxLength = Math.max(maxLength, bytes.length);
      let slot = hashBytes(bytes) & this.mask;
      while (this.slots[slot] !== EMPTY) slot = (slot + 1) & this.mask;
      this.slots[slot] = this.names.length;
      this.names.push(bytes);
      this.values.push(value);
    }
    this.maxLength = maxLength;
  }

  /** Number of names in the index. */
  get size(): number {
    return this.names.length;
  }

  /** Finds the value for `name`, ignoring ASCII case. */
  get(name: Buffer | string): T | undefined {
    const bytes = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
    if (bytes.length > this.maxLength) return undefined;
    let slot = hashBytes(bytes) & this.mask;
    for (;;) {
      const entry = this.slots[slot]!;
      if (entry === EMPTY) return undefined;
      if (equalsFolded(this.names[entry]!, bytes)) return this.values[entry];
      slot = (slot + 1) & this.mask;
    }
  }
}

/** FNV-1a over the lower-cased bytes. */
function hashBytes(bytes: Buffer): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    hash = Math.imul(hash ^ lowerAscii(bytes[i]!), 0x01000193);
  }
  return hash >>> 0;
}

/** Compares a stored lower-case name with request bytes in any case. */
function equalsFolded(lower: Buffer, bytes: Buffer): boolean {
  if (lower.length !== bytes.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if (lower[i] !== lowerAscii(bytes[i]!)) return false;
  }
  return true;
}
