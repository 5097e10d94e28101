/**
 * What respguard does with each command, described from the session's own tables: answered by
 * respguard, refused, blocked by the default blocklist, run on a pinned connection, or forwarded
 * (with the checks that apply). scripts/gen-command-table.ts writes it into docs/commands.md.
 */
import { Blocklist, DEFAULT_BLOCKED_COMMANDS } from '../acl/blocklist.js';
import { isKeyListing } from '../acl/key-listing.js';
import { StricterCheck, stricterChecksOf } from '../acl/table-index.js';
import { isReplicationCommand, refusalText } from '../commands/never-forwarded.js';
import type { CommandTable } from '../commands/table.js';
import type { CommandInfo } from '../commands/types.js';
import { localHandler } from './local-commands.js';
import { stateEffect, type StateEffect } from './stateful.js';

/** ACL subcommands that respguard rejects because its users live in the config file. */
const ACL_MANAGED_IN_CONFIG: ReadonlySet<string> = new Set(['acl|setuser', 'acl|deluser', 'acl|load', 'acl|save']);

/** ACL subcommands that take the normal path and reach the upstream. */
const ACL_FORWARDED: ReadonlySet<string> = new Set(['acl|genpass', 'acl|help']);

/**
 * Describes in a few words what respguard does with `command` under the default configuration
 * (the default blocklist, key listings filtered). `table` is the table the command belongs to.
 */
export function describeHandling(command: CommandInfo, table: CommandTable): string {
  const blocked = new Blocklist(DEFAULT_BLOCKED_COMMANDS, table).blocks(command);
  // A container with arity -2 needs a subcommand; COMMAND (arity -1) also runs alone.
  if ((command.subcommands?.size ?? 0) > 0 && command.arity === -2) {
    return blocked ? 'blocked by default, with every subcommand' : 'container: see the subcommands';
  }
  if (ACL_MANAGED_IN_CONFIG.has(command.name)) return 'refused: users are managed in the respguard config';
  if (ACL_FORWARDED.has(command.name)) return describeForwarded(command);
  if (command.parent?.name === 'acl') return 'answered by respguard from its own users';
  if (localHandler(command) !== undefined) return ANSWERED_PER_SESSION;
  if (isReplicationCommand(command)) return blocked ? 'blocked by default; refused otherwise (replicas connect to Redis directly)' : 'refused: replicas connect to Redis directly';
  if (refusalText(command) !== undefined) return 'refused: debug scripts against Redis directly';
  if (blocked) return 'blocked by default';
  return describeForwarded(command);
}

const ANSWERED_PER_SESSION = 'answered by respguard for each client session';

/** Handling of the commands that change connection state, in the words of the docs table. */
const EFFECT_HANDLING: Readonly<Record<StateEffect, string>> = {
  multi: 'forwarded; pinned',
  exec: 'forwarded; pinned',
  discard: 'forwarded; pinned',
  watch: 'forwarded; pinned',
  unwatch: 'forwarded; pinned',
  subscribe: 'forwarded; pinned',
  unsubscribe: 'forwarded; pinned',
  monitor: 'forwarded; pinned',
  select: 'SELECT 0 answered by respguard; another database forwarded, pinned',
  tracking: 'forwarded; pinned',
  caching: 'forwarded; pinned',
  readonly: 'forwarded; pinned',
  'no-touch': 'forwarded; pinned',
  reply: ANSWERED_PER_SESSION,
  'no-evict': ANSWERED_PER_SESSION,
  blocking: 'forwarded; pinned',
  unblock: 'forwarded with the client id mapped to its pinned connection',
};

/** Describes a command that respguard forwards, with the connection it runs on and its extra checks. */
function describeForwarded(command: CommandInfo): string {
  const effect = stateEffect(command, []);
  if (effect !== null) return EFFECT_HANDLING[effect];
  const notes: string[] = [];
  // XREAD and XREADGROUP have the blocking flag but block, and need a pinned connection, only with BLOCK.
  if (command.flags.has('blocking')) notes.push('pinned with BLOCK');
  if ((stricterChecksOf(command) & StricterCheck.Script) !== 0) notes.push('needs allowScripts: true');
  if (isKeyListing(command)) notes.push('reply filtered to readable keys');
  return notes.length === 0 ? 'forwarded' : `forwarded; ${notes.join('; ')}`;
}
