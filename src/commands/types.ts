/**
 * Types of the command table: what respguard knows of each Redis command, taken from a
 * Redis 7 server's `COMMAND` reply (arity, flags, ACL categories, key specs, subcommands).
 */

/** Where a key spec starts looking for keys. Indexes count from 0 = the command name. */
export type BeginSearch =
  | { type: 'index'; index: number }
  | { type: 'keyword'; keyword: string; startFrom: number }
  | { type: 'unknown' };

/** How a key spec takes keys once it found the first one. */
export type FindKeys =
  | { type: 'range'; lastKey: number; step: number; limit: number }
  | { type: 'keynum'; keyNumIdx: number; firstKey: number; step: number }
  | { type: 'unknown' };

/** One key spec, with Redis's flag names in upper case (RO, RW, OW, RM, ACCESS, UPDATE, INSERT, DELETE, NOT_KEY, INCOMPLETE, VARIABLE_FLAGS). */
export interface KeySpec {
  readonly flags: readonly string[];
  readonly beginSearch: BeginSearch;
  readonly findKeys: FindKeys;
}

/** One command or subcommand of the table. */
export interface CommandInfo {
  /** Dense id, unique across commands and subcommands of one table. */
  readonly id: number;
  /** Lower-case full name: `get`, or `client|setname` for a subcommand. */
  readonly name: string;
  /** Redis arity: positive = exact argument count including the name, negative = at least -arity. */
  readonly arity: number;
  /** Lower-case command flags from `COMMAND` (`write`, `readonly`, `blocking`, `pubsub`, `no_auth`, `movablekeys`, ...). */
  readonly flags: ReadonlySet<string>;
  /** ACL categories in lower case without the `@` (`read`, `string`, `fast`, ...). */
  readonly categories: ReadonlySet<string>;
  readonly keySpecs: readonly KeySpec[];
  /** Subcommands keyed by lower-case subcommand name (`setname`), absent when the command has none. */
  readonly subcommands?: ReadonlyMap<string, CommandInfo>;
  /** The container command of a subcommand. */
  readonly parent?: CommandInfo;
}

/** Serializable form of a command, as stored in the generated table and built from `COMMAND`. */
export interface CommandRecord {
  name: string;
  arity: number;
  flags: string[];
  categories: string[];
  keySpecs: KeySpec[];
  subcommands?: CommandRecord[];
}
