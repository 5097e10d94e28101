/**
 * Recognizes the documented cases where respguard denies a request that redis-server 7.0.15's
 * ACL DRYRUN allows (docs/acl.md). The differential tests accept a difference only when this
 * returns a case name. Each case is checked against the request's shape here, not only against
 * the decision's `stricter` mark, so that a wrong mark cannot hide a real difference.
 */
import type { Decision } from '../../../src/acl/types.js';
import { extractKeys } from '../../../src/commands/keys.js';
import { extractTouchedKeys } from '../../../src/commands/keys-touched.js';
import type { CommandInfo } from '../../../src/commands/types.js';

const SCRIPT_COMMANDS = new Set([
  'eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro',
  'function|load', 'function|delete', 'function|restore', 'function|flush',
]);

/** Names of the documented stricter cases. */
export type StricterCase = 'touched-key' | 'sort-pattern' | 'script' | 'pfmerge-destination';

/**
 * Returns the documented case that explains why respguard denies where the server replied
 * `serverReply` (the decoded ACL DRYRUN reply), or undefined when the difference is unexplained.
 */
export function stricterCase(command: CommandInfo, args: readonly Buffer[], decision: Decision, serverReply: unknown): StricterCase | undefined {
  if (serverReply !== 'OK' || decision.allowed) return undefined;

  // Redis 7.0.15 finds no keys for PFMERGE without sources, so it does not check the destination.
  if (command.name === 'pfmerge' && args.length === 2 && decision.reason === 'key' && decision.stricter === undefined) {
    return 'pfmerge-destination';
  }
  if (decision.stricter !== true) return undefined;

  switch (decision.reason) {
    case 'script':
      return SCRIPT_COMMANDS.has(command.name) ? 'script' : undefined;
    case 'sort-pattern': {
      const option = args[decision.argIndex! - 1]?.toString('latin1').toUpperCase();
      const isSort = command.name === 'sort' || command.name === 'sort_ro';
      return isSort && option === decision.sortOption ? 'sort-pattern' : undefined;
    }
    case 'key': {
      const touched = extractTouchedKeys(command, args) ?? [];
      const checked = new Set(extractKeys(command, args).map((key) => key.index));
      return touched.some((key) => !checked.has(key.index)) ? 'touched-key' : undefined;
    }
    default:
      return undefined;
  }
}
