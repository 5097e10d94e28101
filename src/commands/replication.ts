/**
 * SYNC, PSYNC and REPLCONF turn the connection they run on into a replication stream. No
 * connection of respguard's pools may carry one, so respguard refuses them whatever the
 * blocklist contains, and its dry runs (`respguard dryrun`, `ACL DRYRUN`) report the refusal.
 *
 * NOTE: session.ts keeps its own copy of this set (NEVER_FORWARDED), and
 * test/regressions/session-edge-cases.test.ts checks that the proxy refuses each of these three.
 */
import type { CommandInfo } from './types.js';

export const REPLICATION_COMMANDS: ReadonlySet<string> = new Set(['sync', 'psync', 'replconf']);

/** True for SYNC, PSYNC and REPLCONF, which respguard never forwards. */
export function isReplicationCommand(command: CommandInfo): boolean {
  return REPLICATION_COMMANDS.has((command.parent ?? command).name);
}

/** Returns the error text, without RESP framing, that a client gets for a replication command. */
export function replicationRefusalText(name: string): string {
  return `ERR '${name}' cannot run through respguard: a replica must connect to Redis directly`;
}
