/**
 * Per-table facts that the ACL needs for every command id: the commands of each category, which
 * commands skip the command check (`no_auth`), which may have keys, and where channels are.
 * Built once per CommandTable and shared by all users compiled against it.
 */
import type { CommandTable } from '../commands/table.js';
import { hasTouchedKeysParser } from '../commands/keys-touched.js';
import type { CommandInfo } from '../commands/types.js';

/** The 21 ACL categories of Redis 7.0, which `+@name` and `-@name` accept besides `all`. */
export const REDIS_CATEGORIES: readonly string[] = [
  'keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo',
  'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting',
];

/** Kinds of Pub/Sub channel arguments, as Redis 7.0's getChannelsFromCommand lists them. */
export const ChannelKind = {
  None: 0,
  /** PUBLISH, SPUBLISH: argument 1 is a channel. */
  Publish: 1,
  /** SUBSCRIBE, SSUBSCRIBE: every argument from 1 on is a channel. */
  Subscribe: 2,
  /** PSUBSCRIBE: every argument from 1 on is a channel pattern, compared literally. */
  PatternSubscribe: 3,
} as const;
export type ChannelKind = (typeof ChannelKind)[keyof typeof ChannelKind];

/** Channel kinds by command name. The UNSUBSCRIBE family is absent because ACLs never check it. */
const CHANNEL_COMMANDS: ReadonlyMap<string, ChannelKind> = new Map<string, ChannelKind>([
  ['publish', ChannelKind.Publish],
  ['spublish', ChannelKind.Publish],
  ['subscribe', ChannelKind.Subscribe],
  ['ssubscribe', ChannelKind.Subscribe],
  ['psubscribe', ChannelKind.PatternSubscribe],
]);

/** Bits of TableIndex.stricterChecks: the checks that respguard adds to Redis 7.0's for a command. */
export const StricterCheck = {
  /** The keys that the command really touches differ in some argument shapes (keys-touched.ts). */
  TouchedKeys: 1,
  /** SORT and SORT_RO: BY and GET patterns need read access to every key. */
  SortPattern: 2,
  /** Scripts and functions, which run with respguard's upstream rights, and changes of function libraries. */
  Script: 4,
} as const;

/**
 * Commands that run code on the upstream with respguard's own rights, and the FUNCTION
 * subcommands that change which code FCALL runs. A function is called by name, so a user who
 * may load, restore or delete libraries chooses the code that other users' FCALLs run. SCRIPT
 * LOAD and SCRIPT FLUSH are absent: EVALSHA names a script by its SHA1 digest, which no other
 * script can take over.
 */
const SCRIPT_COMMANDS: ReadonlySet<string> = new Set([
  'eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro',
  'function|load', 'function|delete', 'function|restore', 'function|flush',
]);

/** ACL facts of one command table, indexed by command id. */
export class TableIndex {
  readonly table: CommandTable;
  readonly size: number;
  /** Commands and subcommands of each category, by category name. */
  readonly categoryMembers: ReadonlyMap<string, readonly CommandInfo[]>;
  /** 1 where the command has the `no_auth` flag, which Redis lets through the command check. */
  readonly noAuth: Uint8Array;
  /** 1 where the command may name keys, so that key patterns apply. */
  readonly mayHaveKeys: Uint8Array;
  readonly channelKinds: Uint8Array;
  /** StricterCheck bits of each command. */
  readonly stricterChecks: Uint8Array;
  /**
   * Every command in alphabetical order, each container followed by its subcommands in
   * alphabetical order. Replies that list commands use it, because a table refreshed from a
   * server's COMMAND reply comes in that server's hash order.
   */
  readonly commandsByName: readonly CommandInfo[];
  private readonly commands: readonly CommandInfo[];

  constructor(table: CommandTable) {
    this.table = table;
    this.commands = table.all();
    this.size = this.commands.length;
    this.noAuth = new Uint8Array(this.size);
    this.mayHaveKeys = new Uint8Array(this.size);
    this.channelKinds = new Uint8Array(this.size);
    this.stricterChecks = new Uint8Array(this.size);
    const members = new Map<string, CommandInfo[]>();
    for (const name of REDIS_CATEGORIES) members.set(name, []);
    for (const category of table.categories()) if (!members.has(category)) members.set(category, []);
    for (const command of this.commands) {
      for (const category of command.categories) members.get(category)?.push(command);
      this.noAuth[command.id] = command.flags.has('no_auth') ? 1 : 0;
      this.mayHaveKeys[command.id] = commandMayHaveKeys(command) ? 1 : 0;
      this.channelKinds[command.id] = channelKindOf(command);
      this.stricterChecks[command.id] = stricterChecksOf(command);
    }
    this.categoryMembers = members;
    this.commandsByName = sortedByName(this.commands);
  }

  /**
   * Returns the id of `command` in this table, or -1 for a command the table does not have
   * (such as a module command). A CommandInfo from another table is found again by its name,
   * so that users compiled against one table still work with commands resolved by another.
   */
  idOf(command: CommandInfo): number {
    if (this.commands[command.id] === command) return command.id;
    return this.lookupByName(command.name)?.id ?? -1;
  }

  /**
   * Finds a command by its full name (`get`, `config|get`) as Redis 7.0's ACL rules look names
   * up: case-insensitive, at most one `|`, and a subcommand only under a container.
   */
  lookupByName(fullName: string): CommandInfo | undefined {
    if (fullName.length === 0) return undefined;
    const parts = fullName.split('|');
    if (parts.length > 2) return undefined;
    const base = this.table.get(parts[0]!);
    if (base === undefined || parts.length === 1) return base;
    return base.subcommands?.get(lowerAscii(parts[1]!));
  }
}

const indexes = new WeakMap<CommandTable, TableIndex>();

/** Returns the shared TableIndex of `table`, building it on first use. */
export function tableIndex(table: CommandTable): TableIndex {
  let index = indexes.get(table);
  if (index === undefined) {
    index = new TableIndex(table);
    indexes.set(table, index);
  }
  return index;
}

/** True when a key spec other than a NOT_KEY one exists, or keys move with the arguments. */
export function commandMayHaveKeys(command: CommandInfo): boolean {
  if (command.flags.has('movablekeys')) return true;
  for (const spec of command.keySpecs) {
    if (!spec.flags.includes('NOT_KEY')) return true;
  }
  return false;
}

/** Returns the channel kind of a command, by its name (Redis matches the command's handler). */
export function channelKindOf(command: CommandInfo): ChannelKind {
  return CHANNEL_COMMANDS.get(command.name) ?? ChannelKind.None;
}

function byName(a: CommandInfo, b: CommandInfo): number {
  if (a.name < b.name) return -1;
  return a.name > b.name ? 1 : 0;
}

function sortedByName(commands: readonly CommandInfo[]): CommandInfo[] {
  const sorted: CommandInfo[] = [];
  for (const command of commands.filter((entry) => entry.parent === undefined).sort(byName)) {
    sorted.push(command, ...[...(command.subcommands?.values() ?? [])].sort(byName));
  }
  return sorted;
}

/** Returns the StricterCheck bits of a command, by its name. */
export function stricterChecksOf(command: CommandInfo): number {
  let checks = 0;
  if (hasTouchedKeysParser(command)) checks |= StricterCheck.TouchedKeys;
  if (command.name === 'sort' || command.name === 'sort_ro') checks |= StricterCheck.SortPattern;
  if (SCRIPT_COMMANDS.has(command.name)) checks |= StricterCheck.Script;
  return checks;
}

/** Lower-cases ASCII letters only, as C's tolower does in the C locale. */
export function lowerAscii(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}
