/**
 * Converts a Redis 7 `COMMAND` reply into command records. It is used by the generator that
 * writes the built-in table and at run time, when respguard refreshes the table from the
 * upstream's own `COMMAND`. The reply is what redis-parser 3 decodes from RESP2: nested arrays of
 * strings (or Buffers) and numbers, with key specs and their parts as flat name-value arrays.
 *
 * Newer servers and modules add fields, so unknown fields are skipped, and a missing or malformed
 * part degrades to an empty list or an `unknown` type instead of failing the whole table.
 */
import type { BeginSearch, CommandRecord, FindKeys, KeySpec } from './types.js';

/** Positions in one command entry of the `COMMAND` reply, as in Redis 7.0. */
const ENTRY_NAME = 0;
const ENTRY_ARITY = 1;
const ENTRY_FLAGS = 2;
const ENTRY_CATEGORIES = 6;
const ENTRY_KEY_SPECS = 8;
const ENTRY_SUBCOMMANDS = 9;

/**
 * Converts a decoded `COMMAND` reply into records, one per command, in reply order. Names, flags
 * and categories come out lower case (categories without `@`), key spec flags upper case. A
 * subcommand record keeps the full name Redis gives it (`client|setname`). Entries without a
 * name are skipped.
 *
 * @throws TypeError when `reply` is not an array.
 */
export function recordsFromCommandReply(reply: unknown): CommandRecord[] {
  if (!Array.isArray(reply)) {
    throw new TypeError(`invalid COMMAND reply: expected an array, got ${describe(reply)}`);
  }
  const records: CommandRecord[] = [];
  for (const entry of reply) {
    const record = recordFromEntry(entry);
    if (record) records.push(record);
  }
  return records;
}

function recordFromEntry(entry: unknown): CommandRecord | undefined {
  if (!Array.isArray(entry)) return undefined;
  const name = asString(entry[ENTRY_NAME]);
  if (name === undefined || name === '') return undefined;

  const record: CommandRecord = {
    name: name.toLowerCase(),
    arity: asInteger(entry[ENTRY_ARITY]) ?? 0,
    flags: stringList(entry[ENTRY_FLAGS]).map((flag) => flag.toLowerCase()),
    categories: stringList(entry[ENTRY_CATEGORIES]).map(categoryName),
    keySpecs: listOf(entry[ENTRY_KEY_SPECS]).map(keySpecFromReply),
  };
  const subcommands = listOf(entry[ENTRY_SUBCOMMANDS]);
  if (subcommands.length > 0) {
    record.subcommands = recordsFromCommandReply(subcommands);
  }
  return record;
}

function categoryName(category: string): string {
  const lower = category.toLowerCase();
  return lower.startsWith('@') ? lower.slice(1) : lower;
}

function keySpecFromReply(raw: unknown): KeySpec {
  const fields = fieldMap(raw);
  return {
    flags: stringList(fields.get('flags')).map((flag) => flag.toUpperCase()),
    beginSearch: beginSearchFromReply(fields.get('begin_search')),
    findKeys: findKeysFromReply(fields.get('find_keys')),
  };
}

function beginSearchFromReply(raw: unknown): BeginSearch {
  const outer = fieldMap(raw);
  const spec = fieldMap(outer.get('spec'));
  switch (asString(outer.get('type'))?.toLowerCase()) {
    case 'index': {
      const index = asInteger(spec.get('index'));
      return index === undefined ? { type: 'unknown' } : { type: 'index', index };
    }
    case 'keyword': {
      const keyword = asString(spec.get('keyword'));
      const startFrom = asInteger(spec.get('startfrom'));
      if (keyword === undefined || startFrom === undefined) return { type: 'unknown' };
      return { type: 'keyword', keyword, startFrom };
    }
    default:
      return { type: 'unknown' };
  }
}

function findKeysFromReply(raw: unknown): FindKeys {
  const outer = fieldMap(raw);
  const spec = fieldMap(outer.get('spec'));
  switch (asString(outer.get('type'))?.toLowerCase()) {
    case 'range': {
      const lastKey = asInteger(spec.get('lastkey'));
      const step = asInteger(spec.get('keystep'));
      const limit = asInteger(spec.get('limit'));
      if (lastKey === undefined || step === undefined || limit === undefined) return { type: 'unknown' };
      return { type: 'range', lastKey, step, limit };
    }
    case 'keynum': {
      const keyNumIdx = asInteger(spec.get('keynumidx'));
      const firstKey = asInteger(spec.get('firstkey'));
      const step = asInteger(spec.get('keystep'));
      if (keyNumIdx === undefined || firstKey === undefined || step === undefined) return { type: 'unknown' };
      return { type: 'keynum', keyNumIdx, firstKey, step };
    }
    default:
      return { type: 'unknown' };
  }
}

/** Reads a flat `[name, value, name, value, ...]` array into a map with lower-case names. */
function fieldMap(raw: unknown): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  const list = listOf(raw);
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = asString(list[i]);
    if (name !== undefined) fields.set(name.toLowerCase(), list[i + 1]);
  }
  return fields;
}

function listOf(raw: unknown): unknown[] {
  return Array.isArray(raw) ? raw : [];
}

function stringList(raw: unknown): string[] {
  const strings: string[] = [];
  for (const item of listOf(raw)) {
    const text = asString(item);
    if (text !== undefined) strings.push(text);
  }
  return strings;
}

function asString(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  return undefined;
}

/** Accepts numbers and numeric strings, since redis-parser's `stringNumbers` option yields the latter. */
function asInteger(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isInteger(raw) ? raw : undefined;
  const text = asString(raw);
  if (text === undefined || !/^-?\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Error) return `error ${JSON.stringify(value.message)}`;
  return typeof value;
}
