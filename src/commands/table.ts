/**
 * The command table: every Redis command and subcommand with a dense id, looked up by the
 * request's name bytes. `resolve` is the first step for each request. It finds the command that
 * Redis's processCommand would run, or the exact error text Redis 7.0 would send instead. The ACL
 * check and the forwarding step then work on a known command with a valid arity.
 *
 * A table is immutable once built. The built-in one comes from table.generated.ts; a table built
 * from the upstream's own `COMMAND` reply replaces it after connecting.
 */
import { COMMAND_RECORDS } from './table.generated.js';
import { prepareKeyExtraction } from './keys.js';
import { NameIndex } from './name-index.js';
import type { CommandInfo, CommandRecord, KeySpec } from './types.js';

/**
 * The outcome of resolving a request. `error` texts are what Redis 7.0 sends after the `-`,
 * without CRLF. Bytes of the request that appear in them are decoded as latin1, so encoding the
 * text as latin1 gives back the bytes Redis would send.
 */
export type LookupResult =
  | { kind: 'ok'; command: CommandInfo }
  | { kind: 'unknown-command'; error: string }
  | { kind: 'unknown-subcommand'; error: string }
  | { kind: 'wrong-arity'; command: CommandInfo; error: string };

/** Redis cuts names quoted in error texts at this many bytes (`%.128s` in processCommand). */
const MAX_QUOTED_BYTES = 128;

/** Mutable shape used while building; exposed only as the readonly CommandInfo. */
interface BuildingInfo {
  id: number;
  name: string;
  arity: number;
  flags: ReadonlySet<string>;
  categories: ReadonlySet<string>;
  keySpecs: readonly KeySpec[];
  subcommands?: ReadonlyMap<string, CommandInfo>;
  parent?: CommandInfo;
}

let defaultTable: CommandTable | undefined;

/** Commands and subcommands by name and id, with Redis 7.0's lookup rules. */
export class CommandTable {
  /** Number of ids (commands + subcommands). */
  readonly size: number;
  private readonly infos: readonly CommandInfo[];
  private readonly topLevel: NameIndex<CommandInfo>;
  /** Subcommand index of each container, by the container's id. */
  private readonly subIndexes: (NameIndex<CommandInfo> | undefined)[];
  private readonly categorySet: ReadonlySet<string>;

  private constructor(infos: CommandInfo[], topLevel: CommandInfo[]) {
    this.infos = infos;
    this.size = infos.length;
    this.topLevel = new NameIndex(topLevel.map((info) => [info.name, info] as const));
    this.subIndexes = infos.map((info) => (info.subcommands ? new NameIndex(info.subcommands) : undefined));
    const categories = new Set<string>();
    for (const info of infos) for (const category of info.categories) categories.add(category);
    this.categorySet = categories;
  }

  /** Builds a table from records, such as the generated ones or those of an upstream's `COMMAND`. */
  static fromRecords(records: readonly CommandRecord[]): CommandTable {
    const infos: CommandInfo[] = [];
    const topLevel: CommandInfo[] = [];
    for (const record of records) {
      const info = buildInfo(record, record.name.toLowerCase(), infos, undefined);
      topLevel.push(info);
      if (record.subcommands && record.subcommands.length > 0) {
        const subcommands = new Map<string, CommandInfo>();
        for (const subRecord of record.subcommands) {
          const subName = subcommandName(subRecord.name);
          subcommands.set(subName, buildInfo(subRecord, `${info.name}|${subName}`, infos, info));
        }
        (info as BuildingInfo).subcommands = subcommands;
      }
    }
    for (const info of infos) {
      Object.freeze(info);
      prepareKeyExtraction(info);
    }
    return new CommandTable(infos, topLevel);
  }

  /** Returns the table of the Redis version the generated records came from, built once. */
  static default(): CommandTable {
    defaultTable ??= CommandTable.fromRecords(COMMAND_RECORDS);
    return defaultTable;
  }

  /** Looks up a top-level command by name, ignoring ASCII case. Subcommands are found by `resolve`. */
  get(name: Buffer | string): CommandInfo | undefined {
    return this.topLevel.get(name);
  }

  /** Returns every command and subcommand, by id. */
  all(): readonly CommandInfo[] {
    return this.infos;
  }

  /** Returns every ACL category known to the table (lower case, no '@'). */
  categories(): ReadonlySet<string> {
    return this.categorySet;
  }

  /**
   * Resolves what Redis 7.0's processCommand would run for `args`, where args[0] is the command
   * name. That is the subcommand named by args[1] when args[0] is a container and there are two
   * or more arguments, else the command itself. The arity check comes last. An empty request
   * resolves as an unknown command with an empty name.
   */
  resolve(args: readonly Buffer[]): LookupResult {
    const name = args[0];
    const base = name === undefined ? undefined : this.topLevel.get(name);
    if (base === undefined) {
      return { kind: 'unknown-command', error: unknownCommandError(name) };
    }
    let command = base;
    const subIndex = this.subIndexes[base.id];
    if (subIndex !== undefined && args.length >= 2) {
      const sub = subIndex.get(args[1]!);
      if (sub === undefined) {
        return { kind: 'unknown-subcommand', error: unknownSubcommandError(base, args[1]!) };
      }
      command = sub;
    }
    const arity = command.arity;
    if ((arity > 0 && args.length !== arity) || args.length < -arity) {
      return { kind: 'wrong-arity', command, error: `ERR wrong number of arguments for '${command.name}' command` };
    }
    return { kind: 'ok', command };
  }
}

function buildInfo(record: CommandRecord, name: string, infos: CommandInfo[], parent: CommandInfo | undefined): CommandInfo {
  const info: BuildingInfo = {
    id: infos.length,
    name,
    arity: record.arity,
    flags: new Set(record.flags.map((flag) => flag.toLowerCase())),
    categories: new Set(record.categories.map((category) => category.toLowerCase().replace(/^@/, ''))),
    keySpecs: record.keySpecs,
  };
  if (parent) info.parent = parent;
  infos.push(info);
  return info;
}

/** `client|setname` gives `setname`; a name without `|` is used whole. */
function subcommandName(recordName: string): string {
  const lower = recordName.toLowerCase();
  const bar = lower.indexOf('|');
  return bar < 0 ? lower : lower.slice(bar + 1);
}

/**
 * Quotes request bytes as Redis's `%.128s` does: up to the first NUL byte and at most 128 bytes,
 * with CR and LF replaced by spaces as Redis does for every error text.
 */
function quoted(bytes: Buffer): string {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  return bytes.toString('latin1', 0, Math.min(end, MAX_QUOTED_BYTES)).replace(/[\r\n]/g, ' ');
}

/**
 * Builds the unknown-command text without the arguments that Redis appends after "beginning
 * with: ", because they may be secrets. It ends as Redis's text for a command without arguments.
 */
function unknownCommandError(name: Buffer | undefined): string {
  const quotedName = name === undefined ? '' : quoted(name);
  return `ERR unknown command '${quotedName}', with args beginning with: `;
}

function unknownSubcommandError(container: CommandInfo, subcommand: Buffer): string {
  return `ERR unknown subcommand '${quoted(subcommand)}'. Try ${container.name.toUpperCase()} HELP.`;
}
