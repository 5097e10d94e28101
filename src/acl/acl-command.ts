/**
 * The ACL command as respguard answers it: from its own policy, never forwarded, so that
 * clients see respguard's users and rules and never the upstream's.
 */
import type { CommandInfo } from '../commands/types.js';
import type { Policy } from '../policy.js';
import { encodeBulk, type Protocol } from '../resp/encode.js';
import type { CompiledUser } from './types.js';

/** What an ACL subcommand may read of the session that runs it. */
export interface AclCommandContext {
  readonly user: CompiledUser;
  readonly protocol: Protocol;
  readonly policy: Policy;
}

/**
 * Returns the reply to an ACL subcommand (`command.name` is `acl|...`), or null when
 * respguard does not answer this subcommand itself and it takes the normal path.
 */
export function aclCommand(context: AclCommandContext, command: CommandInfo, _args: readonly Buffer[]): Buffer | null {
  if (command.name === 'acl|whoami') return encodeBulk(context.user.name, context.protocol);
  return null;
}
