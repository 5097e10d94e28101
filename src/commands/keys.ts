/**
 * Key extraction: finds which arguments of a resolved request are keys, and how the command
 * uses each, so that the ACL check can match them against a user's key patterns. It follows
 * Redis 7.0.15's getKeysFromCommandWithSpecs, the function Redis's own ACL check uses:
 *
 * 1. When the command has a key spec without NOT_KEY and none with VARIABLE_FLAGS, the specs
 *    are walked in order. Any spec that is invalid for this request (a bad count, a range past
 *    the end, an unknown search type) or INCOMPLETE makes the whole walk fail.
 * 2. Otherwise, or when the walk failed, the command's getkeys procedure decides (see
 *    key-procedures.ts). A command without one has no keys in Redis, but here it keeps the
 *    keys of its valid specs, which is stricter (PFMERGE with only a destination is the one
 *    built-in case where this differs from Redis 7.0.15).
 *
 * Specs are compiled to flag masks and keyword bytes once per command, when the table is built
 * or on first use, so extraction itself only allocates the result.
 */
import { equalsKeyword, parseKeyCount } from './arg-parsing.js';
import { KEY_FLAG_INCOMPLETE, KEY_FLAG_NOT_KEY, KEY_FLAG_VARIABLE_FLAGS, keyFlagsFromNames, type KeyRef } from './key-flags.js';
import { keyProcedureFor, type KeyProcedure } from './key-procedures.js';
import type { CommandInfo, KeySpec } from './types.js';

export {
  KEY_FLAG_ACCESS,
  KEY_FLAG_DELETE,
  KEY_FLAG_INCOMPLETE,
  KEY_FLAG_INSERT,
  KEY_FLAG_NOT_KEY,
  KEY_FLAG_OW,
  KEY_FLAG_RM,
  KEY_FLAG_RO,
  KEY_FLAG_RW,
  KEY_FLAG_UPDATE,
  KEY_FLAG_VARIABLE_FLAGS,
  keyFlagNames,
  keyFlagsFromNames,
  type KeyRef,
} from './key-flags.js';

const BEGIN_INDEX = 0;
const BEGIN_KEYWORD = 1;
const FIND_RANGE = 0;
const FIND_KEYNUM = 1;
const UNKNOWN = 2;

/** A key spec with its flags as a mask and its keyword as lower-case bytes. */
interface CompiledSpec {
  readonly flags: number;
  readonly beginType: number;
  /** The begin index, or the keyword search's startFrom. */
  readonly begin: number;
  readonly keyword: Buffer;
  readonly findType: number;
  readonly lastKey: number;
  readonly step: number;
  readonly limit: number;
  readonly keyNumIdx: number;
  readonly firstKey: number;
}

interface CompiledKeys {
  readonly specs: readonly CompiledSpec[];
  /** At least one spec without NOT_KEY. */
  readonly hasKeySpec: boolean;
  /** hasKeySpec and no spec with VARIABLE_FLAGS: Redis then tries the specs before the procedure. */
  readonly useSpecs: boolean;
  readonly procedure: KeyProcedure | undefined;
}

const compiledByCommand = new WeakMap<CommandInfo, CompiledKeys>();
const NO_KEYWORD = Buffer.alloc(0);

/**
 * Compiles the key specs of `command` ahead of its first extraction. The command table calls it
 * for every command it builds; calling it again has no effect.
 */
export function prepareKeyExtraction(command: CommandInfo): void {
  if (!compiledByCommand.has(command)) compiledByCommand.set(command, compileCommand(command));
}

/**
 * Finds the keys of a command the way Redis 7's getKeysFromCommandWithSpecs does. Each key spec
 * first runs its begin-search: an index, or a keyword searched from startFrom, forwards for a
 * positive startFrom and backwards from the end for a negative one. Its find-keys then takes a
 * range (lastKey, negative counting from the end, with step and limit) or a keynum (the count at
 * keyNumIdx relative to the begin index, then keys from firstKey with step). When a spec is
 * invalid for the request, the command's Redis 7.0 getkeys procedure decides instead.
 *
 * `args` are the whole request with args[0] the command name, already checked for arity by
 * `CommandTable.resolve`. Keys come out in Redis's order and may repeat.
 */
export function extractKeys(command: CommandInfo, args: readonly Buffer[]): KeyRef[] {
  let compiled = compiledByCommand.get(command);
  if (compiled === undefined) {
    compiled = compileCommand(command);
    compiledByCommand.set(command, compiled);
  }

  if (compiled.useSpecs) {
    const keys = keysFromSpecs(compiled.specs, args, false);
    if (keys !== undefined) return keys;
  }
  if (compiled.procedure !== undefined) return compiled.procedure(args);
  // NOTE: Redis would call a module's own getkeys callback here, which a proxy cannot, and a
  // built-in command without a procedure has no keys in Redis. The keys that the valid specs give
  // are returned instead, so that the ACL check stays as strict as it can be.
  if (compiled.hasKeySpec) return keysFromSpecs(compiled.specs, args, true) ?? [];
  return [];
}

function compileCommand(command: CommandInfo): CompiledKeys {
  const specs = command.keySpecs.map(compileSpec);
  let anyKey = false;
  let variableFlags = false;
  for (const spec of specs) {
    if ((spec.flags & KEY_FLAG_NOT_KEY) === 0) anyKey = true;
    if ((spec.flags & KEY_FLAG_VARIABLE_FLAGS) !== 0) variableFlags = true;
  }
  return { specs, hasKeySpec: anyKey, useSpecs: anyKey && !variableFlags, procedure: keyProcedureFor(command.name) };
}

function compileSpec(spec: KeySpec): CompiledSpec {
  const compiled = {
    flags: keyFlagsFromNames(spec.flags),
    beginType: UNKNOWN,
    begin: 0,
    keyword: NO_KEYWORD,
    findType: UNKNOWN,
    lastKey: 0,
    step: 1,
    limit: 0,
    keyNumIdx: 0,
    firstKey: 0,
  };

  const begin = spec.beginSearch;
  if (begin.type === 'index') {
    compiled.beginType = BEGIN_INDEX;
    compiled.begin = begin.index;
  } else if (begin.type === 'keyword') {
    compiled.beginType = BEGIN_KEYWORD;
    compiled.begin = begin.startFrom;
    compiled.keyword = Buffer.from(begin.keyword.toLowerCase(), 'latin1');
  }

  const find = spec.findKeys;
  if (find.type === 'range') {
    compiled.findType = FIND_RANGE;
    compiled.lastKey = find.lastKey;
    compiled.step = find.step;
    compiled.limit = find.limit;
  } else if (find.type === 'keynum') {
    compiled.findType = FIND_KEYNUM;
    compiled.keyNumIdx = find.keyNumIdx;
    compiled.firstKey = find.firstKey;
    compiled.step = find.step;
  }
  return compiled;
}

/**
 * Walks the specs in order. Returns undefined when a spec is invalid or INCOMPLETE, unless
 * `partial` is set, which skips such specs and keeps the keys of the others.
 */
function keysFromSpecs(specs: readonly CompiledSpec[], args: readonly Buffer[], partial: boolean): KeyRef[] | undefined {
  const keys: KeyRef[] = [];
  for (const spec of specs) {
    if ((spec.flags & KEY_FLAG_NOT_KEY) !== 0) continue;

    const begin = beginIndex(spec, args);
    if (begin === 0) continue;
    let first = -1;
    let last = -1;
    if (begin > 0) {
      first = spec.findType === FIND_KEYNUM ? begin + spec.firstKey : begin;
      last = lastIndex(spec, begin, args);
    }
    const valid = first > 0 && last >= first && last < args.length;
    if (valid) {
      // Redis may add a spec's keys and only then reject it as INCOMPLETE, so a partial walk
      // keeps them.
      const step = spec.step > 0 ? spec.step : 1;
      for (let i = first; i <= last; i += step) keys.push({ index: i, flags: spec.flags });
    }
    if (valid && (spec.flags & KEY_FLAG_INCOMPLETE) === 0) continue;
    if (!partial) return undefined;
  }
  return keys;
}

/** Returns the begin index of a spec, 0 when its keyword is absent (no keys, not an error), or -1 when the spec is invalid. */
function beginIndex(spec: CompiledSpec, args: readonly Buffer[]): number {
  if (spec.beginType === BEGIN_INDEX) return spec.begin > 0 ? spec.begin : -1;
  if (spec.beginType !== BEGIN_KEYWORD) return -1;

  // Redis scans from startFrom towards the far end but never tests the far end itself: the last
  // argument when searching forwards, argument 1 when searching backwards.
  const argc = args.length;
  const startFrom = spec.begin;
  const start = startFrom > 0 ? startFrom : argc + startFrom;
  const end = startFrom > 0 ? argc - 1 : 1;
  const direction = start <= end ? 1 : -1;
  for (let i = start; i !== end; i += direction) {
    if (i >= argc || i < 1) break;
    if (equalsKeyword(args[i]!, spec.keyword)) return i + 1;
  }
  return 0;
}

/**
 * Returns the last key index of a spec that begins at `first`; for keynum specs the keys then
 * start at first + firstKey. Returns -1 when the spec is invalid for this request.
 */
function lastIndex(spec: CompiledSpec, first: number, args: readonly Buffer[]): number {
  const argc = args.length;
  if (spec.findType === FIND_RANGE) {
    if (spec.lastKey >= 0) return first + spec.lastKey;
    if (spec.limit === 0) return argc + spec.lastKey;
    // Redis only allows lastKey -1 with a limit: the keys are 1/limit of the remaining arguments.
    return first + Math.trunc((argc - first) / spec.limit) + spec.lastKey;
  }
  if (spec.findType !== FIND_KEYNUM) return -1;

  const countArg = args[first + spec.keyNumIdx];
  const count = countArg === undefined ? undefined : parseKeyCount(countArg);
  if (count === undefined) return -1;
  // C int arithmetic: a count past 2^31 has wrapped to a negative in parseKeyCount.
  return (first + spec.firstKey + count - 1) | 0;
}
