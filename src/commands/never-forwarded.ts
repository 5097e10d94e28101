/**
 * Commands that respguard never forwards, whatever the blocklist contains, and its dry runs
 * (`respguard dryrun`, `ACL DRYRUN`) report the refusal. SYNC, PSYNC and REPLCONF turn the
 * connection they run on into a replication stream, which no connection of respguard's pools
 * may carry. SCRIPT DEBUG puts its connection into the Lua debugger, which would catch the next
 * script of any session sharing it (and its SYNC mode stops the whole server while it debugs).
 */
import type { CommandInfo } from './types.js';

const REPLICATION_COMMANDS: ReadonlySet<string> = new Set(['sync', 'psync', 'replconf']);

/** True for SYNC, PSYNC and REPLCONF, which respguard never forwards. */
export function isReplicationCommand(command: CommandInfo): boolean {
  return REPLICATION_COMMANDS.has((command.parent ?? command).name);
}

/** Returns the error text, without RESP framing, that a client gets for a command respguard never forwards, or undefined. */
export function refusalText(command: CommandInfo): string | undefined {
  if (isReplicationCommand(command)) return `ERR '${command.name}' cannot run through respguard: a replica must connect to Redis directly`;
  if (command.name === 'script|debug') return `ERR '${command.name}' cannot run through respguard: the Lua debugger needs a direct connection to Redis`;
  return undefined;
}
