/**
 * Key reference type and key spec flag bits. The bits have the values of Redis 7.0's CMD_KEY_*
 * constants, so a mask can be compared with Redis's own numbers when debugging.
 */

/** One key argument of a request. */
export interface KeyRef {
  /** Index in the request's arguments, where 0 is the command name. */
  index: number;
  /** Bitmask of KEY_FLAG_* values, or 0 where Redis 7.0 gives no flags for the key. */
  flags: number;
}

/** Read-only: reads the value of the key without changing it. */
export const KEY_FLAG_RO = 1 << 0;
/** Read-write: modifies the data stored in the key or its metadata. */
export const KEY_FLAG_RW = 1 << 1;
/** Overwrite: replaces the data stored in the key. */
export const KEY_FLAG_OW = 1 << 2;
/** Remove: deletes the key. */
export const KEY_FLAG_RM = 1 << 3;
/** The command returns, copies or uses the user data of the key. */
export const KEY_FLAG_ACCESS = 1 << 4;
/** The command updates the value, which may depend on the old value. */
export const KEY_FLAG_UPDATE = 1 << 5;
/** The command only adds data to the value. */
export const KEY_FLAG_INSERT = 1 << 6;
/** The command explicitly deletes some content of the value. */
export const KEY_FLAG_DELETE = 1 << 7;
/** The argument is not a key but is routed like one (the shard channel of SPUBLISH). */
export const KEY_FLAG_NOT_KEY = 1 << 8;
/** The key spec may miss some keys of the command. */
export const KEY_FLAG_INCOMPLETE = 1 << 9;
/** Some keys of the spec may have other flags than the spec declares. */
export const KEY_FLAG_VARIABLE_FLAGS = 1 << 10;

const FLAG_BITS: ReadonlyMap<string, number> = new Map([
  ['RO', KEY_FLAG_RO],
  ['RW', KEY_FLAG_RW],
  ['OW', KEY_FLAG_OW],
  ['RM', KEY_FLAG_RM],
  ['ACCESS', KEY_FLAG_ACCESS],
  ['UPDATE', KEY_FLAG_UPDATE],
  ['INSERT', KEY_FLAG_INSERT],
  ['DELETE', KEY_FLAG_DELETE],
  ['NOT_KEY', KEY_FLAG_NOT_KEY],
  ['INCOMPLETE', KEY_FLAG_INCOMPLETE],
  ['VARIABLE_FLAGS', KEY_FLAG_VARIABLE_FLAGS],
]);

/**
 * Converts key spec flag names (any case, as `COMMAND` or `COMMAND GETKEYSANDFLAGS` spell them)
 * into a KEY_FLAG_* mask. Names this version does not know, from newer servers, are ignored.
 */
export function keyFlagsFromNames(names: Iterable<string>): number {
  let mask = 0;
  for (const name of names) mask |= FLAG_BITS.get(name.toUpperCase()) ?? 0;
  return mask;
}

/** Lists the upper-case names of the flags set in `mask`, in Redis's order. */
export function keyFlagNames(mask: number): string[] {
  const names: string[] = [];
  for (const [name, bit] of FLAG_BITS) {
    if ((mask & bit) !== 0) names.push(name);
  }
  return names;
}
