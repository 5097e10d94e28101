/**
 * Typed readers for the fields of the expanded YAML tree. Each reader checks one value,
 * reports what is wrong to the shared ConfigProblems and returns the normalized value, or
 * undefined when the value is invalid or absent without a default. A null value (`key:` with
 * nothing after it) counts as absent.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { formatCidr, parseCidr } from './cidr.js';
import { ConfigProblems, fieldPath, indexPath, showValue } from './problems.js';
import { suggestKey } from './suggest.js';

/** Options of the scalar readers: `fallback` is used when the value is absent, `required` reports its absence. */
export interface ScalarOptions<T> {
  readonly fallback?: T;
  readonly required?: boolean;
}

/** The valid entries of a section, and whether every entry was valid. */
export interface Section<T> {
  readonly valid: T;
  readonly complete: boolean;
}

/** Reads the fields of one config file. */
export class FieldReader {
  constructor(
    readonly problems: ConfigProblems,
    private readonly expandedPaths: ReadonlySet<string>,
    /** Directory against which relative file paths are resolved: the config file's directory. */
    private readonly baseDir: string,
  ) {}

  /**
   * Reads a map whose keys must come from `keys`. Reports each unknown key, with the nearest
   * known key as a suggestion. Returns undefined when the value is absent or not a map.
   */
  map(at: string, value: unknown, keys: readonly string[], options: { required?: boolean; expected: string }): Record<string, unknown> | undefined {
    if (isAbsent(value)) {
      if (options.required) this.problems.missing(at, options.expected);
      return undefined;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.problems.invalid(at, value, options.expected);
      return undefined;
    }

    const entries = value as Record<string, unknown>;
    for (const key of Object.keys(entries)) {
      if (keys.includes(key)) continue;
      const suggestion = suggestKey(key, keys);
      const fix = suggestion ? `did you mean "${suggestion}"?` : `expected one of ${keys.join(', ')}`;
      this.problems.add(fieldPath(at, key), `unknown key: ${fix}`);
    }
    return entries;
  }

  /** Reads a list. Returns undefined when the value is absent or not a list. */
  list(at: string, value: unknown, options: { required?: boolean; nonEmpty?: boolean; expected: string }): unknown[] | undefined {
    if (isAbsent(value)) {
      if (options.required) this.problems.missing(at, options.expected);
      return undefined;
    }
    if (!Array.isArray(value) || (options.nonEmpty && value.length === 0)) {
      this.problems.invalid(at, value, options.expected);
      return undefined;
    }
    return value;
  }

  /** Reads a string. Unless `allowEmpty`, an empty or blank string is invalid. */
  string(at: string, value: unknown, options: ScalarOptions<string> & { allowEmpty?: boolean; expected?: string } = {}): string | undefined {
    const expected = options.expected ?? (options.allowEmpty ? 'a string' : 'a non-empty string');
    if (isAbsent(value)) return this.absent(at, options, expected);
    if (typeof value !== 'string' || (!options.allowEmpty && value.trim() === '')) {
      this.problems.invalid(at, value, expected);
      return undefined;
    }
    return value;
  }

  /** Reads an integer from `min` to `max`. A string of digits is accepted when it came from `${VAR}`. */
  integer(
    at: string,
    value: unknown,
    range: { min: number; max?: number },
    options: ScalarOptions<number> & { expected?: string } = {},
  ): number | undefined {
    const expected =
      options.expected ??
      (range.max === undefined ? `an integer of at least ${range.min}` : `an integer from ${range.min} to ${range.max}`);
    if (isAbsent(value)) return this.absent(at, options, expected);

    const number = typeof value === 'string' && this.expandedPaths.has(at) && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < range.min || (range.max !== undefined && number > range.max)) {
      this.problems.invalid(at, value, expected);
      return undefined;
    }
    return number;
  }

  /** Reads `true` or `false`. The strings "true" and "false" are accepted when they came from `${VAR}`. */
  boolean(at: string, value: unknown, options: ScalarOptions<boolean> = {}): boolean | undefined {
    if (isAbsent(value)) return this.absent(at, options, 'true or false');
    if (typeof value === 'boolean') return value;
    if (this.expandedPaths.has(at) && (value === 'true' || value === 'false')) return value === 'true';
    this.problems.invalid(at, value, 'true or false');
    return undefined;
  }

  /** Reads one of `choices`. */
  choice<T extends string>(at: string, value: unknown, choices: readonly T[], options: ScalarOptions<T> = {}): T | undefined {
    const expected = `one of ${choices.join(', ')}`;
    if (isAbsent(value)) return this.absent(at, options, expected);
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      this.problems.invalid(at, value, expected);
      return undefined;
    }
    return value as T;
  }

  /** Reads a host name or IP address to listen on or connect to. */
  host(at: string, value: unknown, options: ScalarOptions<string> = {}): string | undefined {
    const expected = 'a host name or IP address, such as 127.0.0.1 (IPv6 without brackets)';
    const host = this.string(at, value, { ...options, expected });
    if (host !== undefined && /[\s/[\]]/.test(host)) {
      this.problems.invalid(at, host, expected);
      return undefined;
    }
    return host;
  }

  /** Reads a TCP port number. */
  port(at: string, value: unknown, options: ScalarOptions<number> = {}): number | undefined {
    return this.integer(at, value, { min: 1, max: 65535 }, options);
  }

  /**
   * Reads the path of a file that must exist and be readable now. Relative paths are
   * resolved against the config file's directory. Returns the absolute path.
   */
  file(at: string, value: unknown, options: { required?: boolean } = {}): string | undefined {
    const name = this.string(at, value, { required: options.required, expected: 'a file path' });
    if (name === undefined) return undefined;

    const absolute = path.resolve(this.baseDir, name);
    try {
      if (!statSync(absolute).isFile()) {
        this.problems.add(at, `invalid value ${showValue(at, name)}: ${absolute} is not a regular file`);
        return undefined;
      }
      accessSync(absolute, constants.R_OK);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : 'not readable';
      const fix = 'check the path (relative paths start at the config file\'s directory) and the file permissions';
      this.problems.add(at, `cannot read file ${absolute}: ${reason}: ${fix}`);
      return undefined;
    }
    return absolute;
  }

  /** Reads a non-empty list of CIDR ranges, normalized to `address/prefix`. */
  cidrList(at: string, value: unknown): string[] | undefined {
    const expected = 'a non-empty list of CIDR ranges such as [10.0.0.0/8, "::1/128"]; remove the key to allow any address';
    const items = this.list(at, value, { nonEmpty: true, expected });
    if (items === undefined) return undefined;

    const ranges: string[] = [];
    items.forEach((item, i) => {
      const itemPath = indexPath(at, i);
      if (typeof item !== 'string') {
        this.problems.invalid(itemPath, item, 'a CIDR range such as "10.0.0.0/8"');
        return;
      }
      const parsed = parseCidr(item);
      if (parsed.ok) ranges.push(formatCidr(parsed.cidr));
      else this.problems.invalid(itemPath, item, parsed.expected);
    });
    return ranges.length === items.length ? ranges : undefined;
  }

  /** Reads a list of non-empty strings. */
  stringList(at: string, value: unknown, options: { nonEmpty?: boolean; expected: string; itemExpected: string }): string[] | undefined {
    const items = this.list(at, value, options);
    if (items === undefined) return undefined;

    const strings: string[] = [];
    items.forEach((item, i) => {
      const text = this.string(indexPath(at, i), item, { required: true, expected: options.itemExpected });
      if (text !== undefined) strings.push(text);
    });
    return strings.length === items.length ? strings : undefined;
  }

  /** Reads a non-empty list of `host:port` addresses (`[::1]:6379` for IPv6). */
  addressList(at: string, value: unknown): string[] | undefined {
    const itemExpected = 'an address "host:port", such as "10.0.0.1:6379" or "[::1]:6379"';
    const expected = 'a non-empty list of "host:port" addresses, such as ["10.0.0.1:6379"]';
    const items = this.stringList(at, value, { nonEmpty: true, expected, itemExpected });
    if (items === undefined) return undefined;

    let valid = true;
    const firstIndex = new Map<string, number>();
    items.forEach((item, i) => {
      const match = /^(?:\[([^\]\s]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(item);
      const port = match ? Number(match[3]) : 0;
      if (port < 1 || port > 65535) {
        this.problems.invalid(indexPath(at, i), item, itemExpected);
        valid = false;
        return;
      }
      // Host names compare without case. Two names of one host, such as localhost and
      // 127.0.0.1, are not detected.
      const address = item.toLowerCase();
      const first = firstIndex.get(address);
      if (first !== undefined) {
        this.problems.add(indexPath(at, i), `duplicate address "${item}", also given as ${indexPath(at, first)}: remove one of them`);
        valid = false;
        return;
      }
      firstIndex.set(address, i);
    });
    return valid ? items : undefined;
  }

  private absent<T>(at: string, options: ScalarOptions<T>, expected: string): T | undefined {
    if (options.fallback !== undefined) return options.fallback;
    if (options.required) this.problems.missing(at, expected);
    return undefined;
  }
}

/** Tests whether a YAML value is absent: a missing key or a key with no value. */
export function isAbsent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}
