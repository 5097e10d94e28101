/**
 * The ACL command as respguard replies to it: from its own policy, never forwarded, so that
 * clients see respguard's users and rules and never the upstream's. The session calls
 * `aclCommand` for every `acl|*` subcommand after the user's ACL rules have allowed it.
 *
 * WHOAMI, CAT, DRYRUN, LOG, USERS, LIST and GETUSER get their replies here in Redis 7.0.15's reply
 * shapes (LOG in Redis 7.2's, with entry ids). SETUSER, DELUSER, LOAD and SAVE get an error,
 * because users change only in the respguard config. GENPASS and HELP are left to the normal
 * path, since they reveal nothing of any user.
 *
 * USERS, LIST, GETUSER, LOG and DRYRUN check the user's rules again here, so that a user in
 * report-only mode, whose denied commands the session lets through, still cannot read other
 * users' password digests or the log.
 */
import { refusalText } from '../commands/never-forwarded.js';
import { CommandTable } from '../commands/table.js';
import type { CommandInfo } from '../commands/types.js';
import type { Policy } from '../policy.js';
import { isStrictInteger } from '../commands/arg-parsing.js';
import { encodeBulk, encodeError, encodeQuotingError, OK, type Protocol } from '../resp/encode.js';
import type { AclLog } from './acl-log.js';
import {
  categoriesReply,
  categoryCommandsReply,
  getUserReply,
  listReply,
  logReply,
  usersReply,
} from './acl-replies.js';
import { blockedText } from './blocklist.js';
import { dryrunDenialText, nopermText } from './noperm.js';
import { lowerAscii } from './table-index.js';
import type { CompiledUser } from './types.js';
import { AclUser } from './user.js';

/** The session state that an ACL subcommand may read. */
export interface AclCommandContext {
  readonly user: CompiledUser;
  readonly protocol: Protocol;
  readonly policy: Policy;
  /** The process's ACL LOG. Without it, ACL LOG shows an empty log and RESET has nothing to clear. */
  readonly log?: AclLog;
  /** The table the session resolves commands with. Without it, ACL CAT and DRYRUN use the built-in Redis 7.0.15 table. */
  readonly table?: CommandTable;
}

/** Redis's ACL LOG default count. */
const DEFAULT_LOG_COUNT = 10;

type Handler = (context: AclCommandContext, command: CommandInfo, args: readonly Buffer[]) => Buffer;

const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['acl|whoami', (context) => encodeBulk(context.user.name, context.protocol)],
  ['acl|cat', cat],
  ['acl|dryrun', permitted(dryrun)],
  ['acl|log', permitted(log)],
  ['acl|users', permitted((context) => usersReply(context.policy.users, context.protocol))],
  ['acl|list', permitted((context) => listReply(context.policy.users, context.protocol))],
  ['acl|getuser', permitted(getUser)],
  ['acl|setuser', managedInConfig],
  ['acl|deluser', managedInConfig],
  ['acl|load', managedInConfig],
  ['acl|save', managedInConfig],
]);

/**
 * Returns the reply to an ACL subcommand (`command.name` is `acl|...`, `args` the whole
 * request), or null when respguard does not reply to this subcommand itself and it takes the
 * normal path.
 */
export function aclCommand(context: AclCommandContext, command: CommandInfo, args: readonly Buffer[]): Buffer | null {
  const handler = HANDLERS.get(command.name);
  return handler === undefined ? null : handler(context, command, args);
}

/** Wraps a handler so that it runs only when the user's rules allow the request. */
function permitted(handler: Handler): Handler {
  return (context, command, args) => {
    const decision = context.user.check(command, args);
    if (!decision.allowed) return encodeError(nopermText(decision, context.user.name));
    return handler(context, command, args);
  };
}

function cat(context: AclCommandContext, _command: CommandInfo, args: readonly Buffer[]): Buffer {
  if (args.length === 2) return categoriesReply(context.protocol);
  if (args.length !== 3) return subcommandSyntaxError(args);
  const table = context.table ?? CommandTable.default();
  const reply = categoryCommandsReply(table, lowerAscii(cString(args[2]!).toString('latin1')), context.protocol);
  return reply ?? encodeQuotingError(`ERR Unknown category '${quoted(args[2]!)}'`);
}

/** ACL DRYRUN user command [arg ...]: respguard's decision, including its blocklist and its refusal of replication commands, in Redis's texts. */
function dryrun(context: AclCommandContext, _command: CommandInfo, args: readonly Buffer[]): Buffer {
  const target = findUser(context.policy, args[2]!);
  if (target === undefined) return encodeQuotingError(`ERR User '${cString(args[2]!).toString('latin1')}' not found`);

  const request = args.slice(3);
  const table = context.table ?? CommandTable.default();
  const lookup = table.resolve(request);
  if (lookup.kind === 'unknown-command' || lookup.kind === 'unknown-subcommand') {
    return encodeQuotingError(`ERR Command '${cString(request[0]!).toString('latin1')}' not found`);
  }
  if (lookup.kind === 'wrong-arity') return encodeError(`ERR wrong number of arguments for '${lookup.command.name}' command`);

  const decision = target.check(lookup.command, request);
  if (!decision.allowed) return encodeBulk(dryrunDenialText(decision, request), context.protocol);
  if (context.policy.blocklist.blocks(lookup.command)) {
    return encodeBulk(blockedText(lookup.command).replace(/^ERR /, ''), context.protocol);
  }
  const refusal = refusalText(lookup.command);
  if (refusal !== undefined) return encodeBulk(refusal.replace(/^ERR /, ''), context.protocol);
  return OK;
}

/** ACL LOG [count | RESET] */
function log(context: AclCommandContext, _command: CommandInfo, args: readonly Buffer[]): Buffer {
  if (args.length > 3) return subcommandSyntaxError(args);
  let count = DEFAULT_LOG_COUNT;
  if (args.length === 3) {
    const arg = cString(args[2]!).toString('latin1');
    if (lowerAscii(arg) === 'reset') {
      context.log?.reset();
      return OK;
    }
    // Redis reads the count with string2ll; the magnitude of a huge count does not matter here.
    if (!isStrictInteger(args[2]!)) return encodeError('ERR value is not an integer or out of range');
    count = Math.max(0, Number(args[2]!.toString('latin1')));
  }
  return logReply(context.log, count, context.protocol, Date.now());
}

function getUser(context: AclCommandContext, _command: CommandInfo, args: readonly Buffer[]): Buffer {
  const user = findUser(context.policy, args[2]!);
  if (!(user instanceof AclUser)) return encodeBulk(null, context.protocol);
  return getUserReply(user, context.protocol);
}

function managedInConfig(_context: AclCommandContext, command: CommandInfo): Buffer {
  const name = command.name.toUpperCase().replace('|', ' ');
  return encodeError(
    `ERR ${name} is not available through respguard, because respguard's users and ACL rules are ` +
      'managed in its config file. Change the users section of the config and reload respguard',
  );
}

/** Finds a user by the exact bytes of its name, as Redis's user table does. */
function findUser(policy: Policy, name: Buffer): CompiledUser | undefined {
  for (const [userName, user] of policy.users) {
    if (Buffer.from(userName).equals(name)) return user;
  }
  return undefined;
}

/** Redis's reply to a subcommand with the wrong number of arguments. */
function subcommandSyntaxError(args: readonly Buffer[]): Buffer {
  const container = cString(args[0]!).toString('latin1').toUpperCase();
  return encodeQuotingError(`ERR unknown subcommand or wrong number of arguments for '${quoted(args[1]!)}'. Try ${container} HELP.`);
}

/** Returns an argument as Redis's `%.128s` prints it: up to the first NUL byte, at most 128 bytes. */
function quoted(arg: Buffer): string {
  return cString(arg).subarray(0, 128).toString('latin1');
}

function cString(arg: Buffer): Buffer {
  const nul = arg.indexOf(0);
  return nul < 0 ? arg : arg.subarray(0, nul);
}
