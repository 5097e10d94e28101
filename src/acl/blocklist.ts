/**
 * The blocklist: commands that respguard rejects for every user, whatever the user's ACL rules
 * allow, because they act on the whole server behind the proxy (its data, configuration,
 * replication, users or other clients). Entries are command names or `name|subcommand`, in any
 * case, validated against the command table when the configuration loads.
 */
import type { CommandTable } from '../commands/table.js';
import type { CommandInfo } from '../commands/types.js';
import { RespguardError } from '../errors.js';
import { lowerAscii, tableIndex } from './table-index.js';

/** The secure default list used when `blockCommands` is absent. */
export const DEFAULT_BLOCKED_COMMANDS: readonly string[] = Object.freeze([
  'FLUSHALL', // deletes the data of every database
  'FLUSHDB', // deletes the data of the selected database
  'SWAPDB', // swaps two databases, so every client of one gets the other's data
  'CONFIG', // reads or changes server settings, such as requirepass and dir (RESETSTAT zeroes statistics)
  'DEBUG', // can crash, stall or corrupt the server
  'SHUTDOWN', // stops the server
  'MODULE', // loads native code into the server
  'REPLICAOF', // turns the server into a replica of another host, dropping its data
  'SLAVEOF', // old name of REPLICAOF
  'SYNC', // streams the whole dataset out, as to a replica
  'PSYNC', // the same, as a partial resynchronization
  'FAILOVER', // hands the primary role to a replica
  'SAVE', // blocks the server while it writes a snapshot
  'BGSAVE', // writes a snapshot to the server's disk
  'BGREWRITEAOF', // rewrites the append-only file on the server's disk
  'MIGRATE', // copies or moves keys to another host
  // respguard replies to ACL GETUSER, LIST, USERS, LOG, CAT, DRYRUN and WHOAMI from its own
  // policy (acl-command.ts), so they are not listed. Its ACL handler rejects the four below as
  // well, and listing them keeps them from the upstream whatever that handler does.
  'ACL|SETUSER', // creates or changes the server's own users
  'ACL|DELUSER', // deletes server users
  'ACL|LOAD', // reloads server users from the ACL file
  'ACL|SAVE', // writes server users to the ACL file
  'CLIENT|KILL', // disconnects other clients, including other users' sessions
  'CLIENT|PAUSE', // stops all clients of the server
  'CLIENT|UNPAUSE', // resumes clients paused by someone else
  'CLIENT|LIST', // shows every connection, with addresses and last commands
  'CLIENT|UNBLOCK', // ends another client's blocking command early, as a timeout or an error
  'SLOWLOG|RESET', // erases the server's slow log, which the operator reads for diagnosis
  'LATENCY|RESET', // erases the server's latency records, likewise
  'SCRIPT|FLUSH', // removes every cached Lua script
  'FUNCTION|FLUSH', // deletes every function library
  'FUNCTION|DELETE', // deletes a function library that other clients may call
  'FUNCTION|RESTORE', // replaces function libraries with a dump
  // The CLUSTER subcommands that change the cluster's slots, nodes, epochs or saved config.
  // CLUSTER INFO, NODES, SLOTS, SHARDS and the other read-only subcommands stay allowed.
  'CLUSTER|ADDSLOTS', // assigns hash slots to the node
  'CLUSTER|ADDSLOTSRANGE', // the same, by ranges
  'CLUSTER|DELSLOTS', // unassigns hash slots, so their keys become unreachable
  'CLUSTER|DELSLOTSRANGE', // the same, by ranges
  'CLUSTER|FLUSHSLOTS', // unassigns every slot of the node
  'CLUSTER|SETSLOT', // migrates or reassigns a hash slot
  'CLUSTER|BUMPEPOCH', // advances the config epoch, which decides conflicting slot claims
  'CLUSTER|SET-CONFIG-EPOCH', // sets the node's config epoch
  'CLUSTER|SAVECONFIG', // rewrites nodes.conf on the server's disk
  'CLUSTER|REPLICATE', // turns the node into a replica of another node, dropping its data
  'CLUSTER|RESET', // removes the node from its cluster
  'CLUSTER|FAILOVER', // forces a cluster failover
  'CLUSTER|FORGET', // removes another node from the cluster
  'CLUSTER|MEET', // joins the node to another cluster
]);

/** A set of blocked commands and subcommands. Immutable. */
export class Blocklist {
  /** Lower-case full names: `flushall`, `acl|setuser`. */
  private readonly names: ReadonlySet<string>;

  /** Validates `entries` against `table`; throws RespguardError('RG_ERR_CONFIG') naming an unknown entry. */
  constructor(entries: readonly string[], table: CommandTable) {
    const index = tableIndex(table);
    const names = new Set<string>();
    for (const entry of entries) {
      const command = index.lookupByName(lowerAscii(entry));
      if (command === undefined) {
        throw new RespguardError(
          'RG_ERR_CONFIG',
          `blockCommands: unknown command ${JSON.stringify(entry)}; write a command name or NAME|SUBCOMMAND that Redis 7.0 knows`,
        );
      }
      names.add(command.name);
    }
    this.names = names;
  }

  /** true when this command (or its parent container for a subcommand, or `NAME|SUB`) is blocked */
  blocks(command: CommandInfo): boolean {
    if (this.names.has(command.name)) return true;
    return command.parent !== undefined && this.names.has(command.parent.name);
  }
}

/**
 * Lists the entries of DEFAULT_BLOCKED_COMMANDS, as written there, that `blocklist` lets
 * through. An entry counts as kept when the list names it or its parent command.
 */
export function defaultsNotBlocked(blocklist: Blocklist, table: CommandTable): string[] {
  const index = tableIndex(table);
  return DEFAULT_BLOCKED_COMMANDS.filter((entry) => {
    const command = index.lookupByName(lowerAscii(entry));
    return command !== undefined && !blocklist.blocks(command);
  });
}

/** Error line payload for a blocked command: "ERR command 'flushall' is blocked by respguard". */
export function blockedText(command: CommandInfo): string {
  return `ERR command '${command.name}' is blocked by respguard`;
}
