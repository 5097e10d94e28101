/**
 * The keys a command really touches, found by parsing its arguments the way the command itself
 * does in Redis 7.0.15. The ACL check runs this after the check that Redis 7.0 makes (keys.ts),
 * for the few commands where Redis 7.0's key specs can name other arguments than the ones the
 * command reads or writes:
 *
 * - GEORADIUS and GEORADIUSBYMEMBER: the key spec takes the first STORE and the first
 *   STOREDIST, but the command writes only to the destination of the last of them.
 * - SORT: Redis's getkeys procedure does not skip the value of STORE, so a destination named
 *   BY, GET or LIMIT hides a later STORE, which is the one the command writes to.
 * - XREAD and XREADGROUP: the key spec takes the arguments after the first word STREAMS from a
 *   fixed position, so a group or consumer named STREAMS, or options before GROUP, make it
 *   check other arguments than the streams the command reads.
 *
 * Redis fixed these shapes in later releases (7.4.11 and later). Each list here is what the
 * command touches when it runs. When the command would fail to parse, the keys found up to
 * that point are returned, which can only make the check stricter.
 */
import { equalsKeyword, isStrictInteger } from './arg-parsing.js';
import { KEY_FLAG_ACCESS, KEY_FLAG_OW, KEY_FLAG_RO, KEY_FLAG_UPDATE, type KeyRef } from './key-flags.js';
import type { CommandInfo } from './types.js';

/** Finds the touched keys of one request; `args[0]` is the command name. */
type TouchedKeysParser = (args: readonly Buffer[]) => KeyRef[];

const word = (text: string): Buffer => Buffer.from(text, 'latin1');
const ASC = word('asc');
const DESC = word('desc');
const ALPHA = word('alpha');
const LIMIT = word('limit');
const STORE = word('store');
const STOREDIST = word('storedist');
const BY = word('by');
const GET = word('get');
const WITHDIST = word('withdist');
const WITHHASH = word('withhash');
const WITHCOORD = word('withcoord');
const ANY = word('any');
const COUNT = word('count');
const BLOCK = word('block');
const GROUP = word('group');
const NOACK = word('noack');
const STREAMS = word('streams');

/** Flags of a read source and of a destination, as Redis 7.0's key specs give them. */
const SOURCE_FLAGS = KEY_FLAG_RO | KEY_FLAG_ACCESS;
const DESTINATION_FLAGS = KEY_FLAG_OW | KEY_FLAG_UPDATE;

/** A SORT or SORT_RO request as the command parses its options. */
export interface SortOptions {
  /** Index of the destination of the last STORE, or -1. */
  readonly store: number;
  /**
   * Index of the first pattern that makes Redis require read access to every key, or -1. That
   * is a GET pattern, or a BY pattern that contains `*` (a BY without `*` reads no key).
   */
  readonly pattern: number;
  /** The option of `pattern`, or undefined when there is none. */
  readonly patternOption: 'BY' | 'GET' | undefined;
}

/**
 * Parses the options of SORT (or SORT_RO, which has no STORE) from argument 2 as Redis 7.0.15's
 * sortCommandGeneric does, and stops where the command would reply with an error. Redis rejects
 * the first BY or GET pattern that it reaches when the user may not read every key, so that is
 * the pattern reported.
 */
export function parseSortOptions(args: readonly Buffer[], readOnly: boolean): SortOptions {
  let store = -1;
  let pattern = -1;
  let patternOption: 'BY' | 'GET' | undefined;
  for (let j = 2; j < args.length; j++) {
    const arg = args[j]!;
    const left = args.length - j - 1;
    if (equalsKeyword(arg, ASC) || equalsKeyword(arg, DESC) || equalsKeyword(arg, ALPHA)) continue;
    if (equalsKeyword(arg, LIMIT) && left >= 2) {
      if (!isStrictInteger(args[j + 1]!) || !isStrictInteger(args[j + 2]!)) break;
      j += 2;
    } else if (!readOnly && equalsKeyword(arg, STORE) && left >= 1) {
      store = j + 1;
      j++;
    } else if (equalsKeyword(arg, BY) && left >= 1) {
      if (pattern < 0 && hasStarBeforeNul(args[j + 1]!)) {
        pattern = j + 1;
        patternOption = 'BY';
      }
      j++;
    } else if (equalsKeyword(arg, GET) && left >= 1) {
      if (pattern < 0) {
        pattern = j + 1;
        patternOption = 'GET';
      }
      j++;
    } else {
      break;
    }
  }
  return { store, pattern, patternOption };
}

/** Tests for `*` the way Redis's strchr does, which stops at a NUL byte. */
function hasStarBeforeNul(pattern: Buffer): boolean {
  for (const byte of pattern) {
    if (byte === 0x2a) return true;
    if (byte === 0) return false;
  }
  return false;
}

/** SORT: the sorted key and the destination of the last STORE. */
const sortTouchedKeys: TouchedKeysParser = (args) => {
  const keys: KeyRef[] = [{ index: 1, flags: SOURCE_FLAGS }];
  const { store } = parseSortOptions(args, false);
  if (store > 0) keys.push({ index: store, flags: DESTINATION_FLAGS });
  return keys;
};

/**
 * GEORADIUS (options from argument 6) and GEORADIUSBYMEMBER (from 5): the source key and the
 * destination of the last STORE or STOREDIST, as georadiusGeneric parses them.
 */
function georadiusTouchedKeys(firstOption: number): TouchedKeysParser {
  return (args) => {
    let store = -1;
    for (let i = firstOption; i < args.length; i++) {
      const arg = args[i]!;
      const hasValue = i + 1 < args.length;
      if (
        equalsKeyword(arg, WITHDIST) || equalsKeyword(arg, WITHHASH) || equalsKeyword(arg, WITHCOORD) ||
        equalsKeyword(arg, ANY) || equalsKeyword(arg, ASC) || equalsKeyword(arg, DESC)
      ) {
        continue;
      }
      if (equalsKeyword(arg, COUNT) && hasValue) {
        i++;
      } else if ((equalsKeyword(arg, STORE) || equalsKeyword(arg, STOREDIST)) && hasValue) {
        store = i + 1;
        i++;
      } else {
        break;
      }
    }
    const keys: KeyRef[] = [{ index: 1, flags: SOURCE_FLAGS }];
    if (store > 0) keys.push({ index: store, flags: DESTINATION_FLAGS });
    return keys;
  };
}

/**
 * XREAD and XREADGROUP: the first half of the arguments after the STREAMS option that
 * xreadCommand stops at. Options with values (BLOCK, COUNT, GROUP) are skipped with their
 * values, and GROUP may come more than once. An odd number of arguments after STREAMS is an
 * error in Redis, so no keys are returned for it.
 */
const xreadTouchedKeys: TouchedKeysParser = (args) => {
  let streams = -1;
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]!;
    const more = args.length - i - 1;
    if ((equalsKeyword(arg, BLOCK) || equalsKeyword(arg, COUNT)) && more >= 1) {
      i++;
    } else if (equalsKeyword(arg, STREAMS) && more >= 1) {
      streams = i + 1;
      break;
    } else if (equalsKeyword(arg, GROUP) && more >= 2) {
      i += 2;
    } else if (!equalsKeyword(arg, NOACK)) {
      break;
    }
  }
  if (streams < 0 || (args.length - streams) % 2 !== 0) return [];

  const keys: KeyRef[] = [];
  const count = (args.length - streams) / 2;
  for (let i = 0; i < count; i++) keys.push({ index: streams + i, flags: SOURCE_FLAGS });
  return keys;
};

const PARSERS: ReadonlyMap<string, TouchedKeysParser> = new Map([
  ['sort', sortTouchedKeys],
  ['georadius', georadiusTouchedKeys(6)],
  ['georadiusbymember', georadiusTouchedKeys(5)],
  ['xread', xreadTouchedKeys],
  ['xreadgroup', xreadTouchedKeys],
]);

/** Tests whether `command` has a parser here, that is, whether Redis 7.0's keys may miss some. */
export function hasTouchedKeysParser(command: CommandInfo): boolean {
  return PARSERS.has(command.name);
}

/**
 * Returns the keys that `command` touches with `args`, in argument order, or undefined for a
 * command whose Redis 7.0 key extraction (extractKeys) already names every key it touches.
 * `args` must have passed the arity check.
 */
export function extractTouchedKeys(command: CommandInfo, args: readonly Buffer[]): KeyRef[] | undefined {
  return PARSERS.get(command.name)?.(args);
}
