/**
 * The command blocklist used when the config has no `blockCommands` key.
 */

// TODO: re-export DEFAULT_BLOCKED_COMMANDS from src/acl/blocklist.ts once that module exists;
// until then this placeholder lists commands that change or stop the whole server.
/** Upper-case command names that respguard blocks by default. */
export const DEFAULT_BLOCKED_COMMANDS: readonly string[] = [
  'FLUSHALL',
  'FLUSHDB',
  'CONFIG',
  'DEBUG',
  'SHUTDOWN',
  'MODULE',
  'REPLICAOF',
  'SLAVEOF',
];
