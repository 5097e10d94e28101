/**
 * Key extraction for the commands whose key specs cannot always give the keys. Redis 7.0 gives
 * these commands their own getkeys procedures and runs them when the specs are invalid or
 * incomplete for a request, or declare VARIABLE_FLAGS. This module reproduces what each
 * procedure returns in Redis 7.0.15, including the keys without flags (flags 0) that several of
 * them report.
 *
 * Procedures are looked up by top-level command name, so a table refreshed from a newer server
 * still gets the 7.0 behaviour for these commands.
 */
import { atoi, equalsKeyword } from './arg-parsing.js';
import {
  KEY_FLAG_ACCESS,
  KEY_FLAG_DELETE,
  KEY_FLAG_OW,
  KEY_FLAG_RO,
  KEY_FLAG_RW,
  KEY_FLAG_UPDATE,
  type KeyRef,
} from './key-flags.js';

/** Finds the keys of one request; `args[0]` is the command name. */
export type KeyProcedure = (args: readonly Buffer[]) => KeyRef[];

const word = (text: string): Buffer => Buffer.from(text, 'latin1');
const LIMIT = word('limit');
const GET = word('get');
const BY = word('by');
const STORE = word('store');
const STOREDIST = word('storedist');
const KEYS = word('keys');
const AUTH = word('auth');
const AUTH2 = word('auth2');
const BLOCK = word('block');
const COUNT = word('count');
const GROUP = word('group');
const NOACK = word('noack');
const STREAMS = word('streams');
const OVERFLOW = word('overflow');

/**
 * Keys from a count argument: `count` keys from `first` every `step`, plus an optional
 * destination key listed last. Like Redis, it returns no keys when the count (read with atoi)
 * is below 1 or larger than the arguments can hold, since the command then fails anyway.
 */
function countedKeys(args: readonly Buffer[], destination: number, countAt: number, first: number, step: number): KeyRef[] {
  const countArg = args[countAt];
  if (countArg === undefined) return [];
  const count = atoi(countArg);
  if (count < 1 || count > Math.trunc((args.length - first) / step)) return [];

  const keys: KeyRef[] = [];
  for (let i = 0; i < count; i++) keys.push({ index: first + i * step, flags: 0 });
  if (destination > 0) keys.push({ index: destination, flags: 0 });
  return keys;
}

/** EVAL, FCALL and their variants, BLMPOP, BZMPOP: `cmd arg numkeys key...`. */
const keysAfterSecondCount: KeyProcedure = (args) => countedKeys(args, 0, 2, 3, 1);
/** ZUNION, ZINTER, ZDIFF, ZINTERCARD, SINTERCARD, LMPOP, ZMPOP: `cmd numkeys key...`. */
const keysAfterFirstCount: KeyProcedure = (args) => countedKeys(args, 0, 1, 2, 1);
/** ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE: `cmd destination numkeys key...`. */
const storeKeysAfterCount: KeyProcedure = (args) => countedKeys(args, 1, 2, 3, 1);

/** SORT_RO: only the sorted key, since BY and GET patterns name keys through the data. */
const sortReadOnlyKeys: KeyProcedure = () => [{ index: 1, flags: KEY_FLAG_RO | KEY_FLAG_ACCESS }];

/** SORT: the sorted key and the destination of the last STORE option. */
const sortKeys: KeyProcedure = (args) => {
  const keys: KeyRef[] = [{ index: 1, flags: KEY_FLAG_RO | KEY_FLAG_ACCESS }];
  let store = -1;
  for (let i = 2; i < args.length; i++) {
    const arg = args[i]!;
    if (equalsKeyword(arg, LIMIT)) i += 2;
    else if (equalsKeyword(arg, GET) || equalsKeyword(arg, BY)) i += 1;
    // Redis does not skip the argument after STORE, so `STORE STORE x` stores into x.
    else if (equalsKeyword(arg, STORE) && i + 1 < args.length) store = i + 1;
  }
  if (store > 0) keys.push({ index: store, flags: KEY_FLAG_OW | KEY_FLAG_UPDATE });
  return keys;
};

/** MIGRATE: the key argument, or the keys after KEYS when the key argument is empty. */
const migrateKeys: KeyProcedure = (args) => {
  let first = 3;
  let count = 1;
  for (let i = 6; i < args.length; i++) {
    const arg = args[i]!;
    if (equalsKeyword(arg, KEYS)) {
      // A non-empty key argument together with KEYS is a syntax error, so Redis reports no keys.
      if ((args[3]?.length ?? 0) > 0) {
        count = 0;
      } else {
        first = i + 1;
        count = args.length - first;
      }
      break;
    }
    // COPY and REPLACE take no value, so only AUTH and AUTH2 need skipping.
    if (equalsKeyword(arg, AUTH)) i += 1;
    else if (equalsKeyword(arg, AUTH2)) i += 2;
  }

  const keys: KeyRef[] = [];
  for (let i = 0; i < count; i++) keys.push({ index: first + i, flags: KEY_FLAG_RW | KEY_FLAG_ACCESS | KEY_FLAG_DELETE });
  return keys;
};

/** GEORADIUS and GEORADIUSBYMEMBER: the source key and the last STORE or STOREDIST key. */
const georadiusKeys: KeyProcedure = (args) => {
  let stored = -1;
  for (let i = 5; i < args.length; i++) {
    const arg = args[i]!;
    if ((equalsKeyword(arg, STORE) || equalsKeyword(arg, STOREDIST)) && i + 1 < args.length) {
      stored = i + 1;
      i++;
    }
  }
  const keys: KeyRef[] = [{ index: 1, flags: 0 }];
  if (stored > 0) keys.push({ index: stored, flags: 0 });
  return keys;
};

/** XREAD and XREADGROUP: the first half of the arguments after the STREAMS option. */
const xreadKeys: KeyProcedure = (args) => {
  let streams = -1;
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]!;
    if (equalsKeyword(arg, BLOCK) || equalsKeyword(arg, COUNT)) i += 1;
    else if (equalsKeyword(arg, GROUP)) i += 2;
    else if (equalsKeyword(arg, NOACK)) continue;
    else {
      if (equalsKeyword(arg, STREAMS)) streams = i;
      break;
    }
  }
  if (streams < 0) return [];
  const rest = args.length - streams - 1;
  if (rest === 0 || rest % 2 !== 0) return [];

  const keys: KeyRef[] = [];
  for (let i = streams + 1; i < args.length - rest / 2; i++) keys.push({ index: i, flags: 0 });
  return keys;
};

/** SET: the key reads the old value only when the GET option is present. */
const setKeys: KeyProcedure = (args) => {
  for (let i = 3; i < args.length; i++) {
    if (equalsKeyword(args[i]!, GET)) return [{ index: 1, flags: KEY_FLAG_RW | KEY_FLAG_ACCESS | KEY_FLAG_UPDATE }];
  }
  return [{ index: 1, flags: KEY_FLAG_OW | KEY_FLAG_UPDATE }];
};

/** BITFIELD: read-only when every operation is a well-formed GET or OVERFLOW. */
const bitfieldKeys: KeyProcedure = (args) => {
  let readOnly = true;
  for (let i = 2; i < args.length; i++) {
    const remaining = args.length - i - 1;
    const arg = args[i]!;
    if (equalsKeyword(arg, GET) && remaining >= 2) {
      i += 2;
    } else if (equalsKeyword(arg, OVERFLOW) && remaining >= 1) {
      i += 1;
    } else {
      // SET and INCRBY write. Anything else is a syntax error, and Redis assumes a write for it.
      readOnly = false;
      break;
    }
  }
  const flags = readOnly ? KEY_FLAG_RO | KEY_FLAG_ACCESS : KEY_FLAG_RW | KEY_FLAG_ACCESS | KEY_FLAG_UPDATE;
  return [{ index: 1, flags }];
};

const PROCEDURES: ReadonlyMap<string, KeyProcedure> = new Map([
  ['eval', keysAfterSecondCount],
  ['evalsha', keysAfterSecondCount],
  ['eval_ro', keysAfterSecondCount],
  ['evalsha_ro', keysAfterSecondCount],
  ['fcall', keysAfterSecondCount],
  ['fcall_ro', keysAfterSecondCount],
  ['blmpop', keysAfterSecondCount],
  ['bzmpop', keysAfterSecondCount],
  ['zunion', keysAfterFirstCount],
  ['zinter', keysAfterFirstCount],
  ['zdiff', keysAfterFirstCount],
  ['zintercard', keysAfterFirstCount],
  ['sintercard', keysAfterFirstCount],
  ['lmpop', keysAfterFirstCount],
  ['zmpop', keysAfterFirstCount],
  ['zunionstore', storeKeysAfterCount],
  ['zinterstore', storeKeysAfterCount],
  ['zdiffstore', storeKeysAfterCount],
  ['sort', sortKeys],
  ['sort_ro', sortReadOnlyKeys],
  ['migrate', migrateKeys],
  ['georadius', georadiusKeys],
  ['georadiusbymember', georadiusKeys],
  ['xread', xreadKeys],
  ['xreadgroup', xreadKeys],
  ['set', setKeys],
  ['bitfield', bitfieldKeys],
]);

/** Returns Redis 7.0's getkeys procedure for a full lower-case command name, if it has one. */
export function keyProcedureFor(name: string): KeyProcedure | undefined {
  return PROCEDURES.get(name);
}
