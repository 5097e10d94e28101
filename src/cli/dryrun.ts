/**
 * `respguard dryrun`: shows what respguard would do with one command from one user, in the
 * order a session checks a request: command lookup and arity, then the user's ACL rules
 * (skipped for commands flagged no_auth, as Redis does), then the blocklist, then the refusal
 * of the replication commands. The verdict is one line for the operator: `OK`, or `denied:`,
 * `blocked:` or `rejected:` with the reason and the error reply that the client would get.
 */
import { blockedText } from '../acl/blocklist.js';
import { explainDenial } from '../acl/explain.js';
import { nopermText } from '../acl/noperm.js';
import { configFileArgument, EXIT_USAGE, parseCommandArgs, positionalsAroundTerminator, printUsageError, stringOption } from './args.js';
import { HELP } from './help.js';
import type { CliIo } from './io.js';
import { loadPolicy } from './load-policy.js';
import { isReplicationCommand, refusalText } from '../commands/never-forwarded.js';

/** Exit status of a command that respguard would not forward. */
const EXIT_DENIED = 1;

/**
 * Runs `dryrun`. Prints "OK" and returns 0 when the command would be forwarded, or prints why
 * not and returns 1. Returns 2 for a usage error, an invalid config or an unknown user.
 */
export async function dryrunCommand(args: string[], io: CliIo): Promise<number> {
  const options = { config: { type: 'string', short: 'c' }, user: { type: 'string', short: 'u' } } as const;
  const parsed = parseCommandArgs('dryrun', args, options, io, true);
  if (parsed === undefined) return EXIT_USAGE;
  if (parsed.values.help) {
    io.stdout.write(HELP.dryrun!);
    return 0;
  }

  // The config file may also come as the one argument before `--`: `dryrun FILE -u NAME -- GET k`.
  const { before, after: request } = positionalsAroundTerminator(parsed);
  const option = stringOption(parsed, 'config');
  const configArgument = option === undefined && before.length === 0 ? undefined : configFileArgument(option, before);
  if (configArgument?.error !== undefined) {
    printUsageError('dryrun', configArgument.error, io);
    return EXIT_USAGE;
  }
  const file = configArgument?.file;
  const userName = stringOption(parsed, 'user');
  const missing: string[] = [];
  if (file === undefined) missing.push('--config FILE');
  if (userName === undefined) missing.push('--user NAME');
  if (request.length === 0) missing.push('a COMMAND after --');
  if (file === undefined || userName === undefined || missing.length > 0) {
    printUsageError('dryrun', `missing ${missing.join(', ')}`, io);
    return EXIT_USAGE;
  }

  const loaded = await loadPolicy(file, io);
  if (loaded === undefined) return EXIT_USAGE;
  const user = loaded.policy.users.get(userName);
  if (user === undefined) {
    const known = [...loaded.policy.users.keys()].join(', ');
    io.stderr.write(`respguard dryrun: user "${userName}" is not defined in ${file}; its users are: ${known}\n`);
    return EXIT_USAGE;
  }

  const commandArgs = request.map((arg) => Buffer.from(arg, 'utf8'));
  const lookup = loaded.table.resolve(commandArgs);
  // Lookup errors quote request bytes decoded as latin1; encoding back gives the bytes Redis sends.
  if (lookup.kind !== 'ok') return verdict(io, 'rejected: the request is invalid', Buffer.from(lookup.error, 'latin1'));

  const command = lookup.command;
  if (!command.flags.has('no_auth')) {
    const decision = user.check(command, commandArgs);
    if (!decision.allowed) {
      const mode = user.reportOnly ? ' (report-only user: respguard would log this and forward the command)' : '';
      return verdict(io, `denied${mode}: ${explainDenial(user, command, commandArgs, decision)}`, nopermText(decision, user.name));
    }
  }
  // As in the session, AUTH, HELLO, QUIT and RESET (flagged no_auth) pass the blocklist.
  if (!command.flags.has('no_auth') && loaded.policy.blocklist.blocks(command)) {
    const entry = command.parent !== undefined && !loaded.config.blockCommands.includes(command.name.toUpperCase()) ? command.parent : command;
    const reason = `blocked: '${command.name}' is blocked for every user by the ${entry.name.toUpperCase()} entry of blockCommands`;
    return verdict(io, reason, blockedText(command));
  }
  const refusal = refusalText(command);
  if (refusal !== undefined) {
    const effect = isReplicationCommand(command) ? 'turn a pooled upstream connection into a replication stream' : 'put a pooled upstream connection into the Lua debugger';
    const reason = `rejected: '${command.name}' never runs through respguard, because it would ${effect}`;
    return verdict(io, reason, refusal);
  }

  io.stdout.write('OK\n');
  return 0;
}

/** Prints one line: the verdict, then the error reply that the client would get (without the "-"). */
function verdict(io: CliIo, reason: string, reply: string | Buffer): number {
  io.stdout.write(`${reason}. The client gets: `);
  io.stdout.write(reply);
  io.stdout.write('\n');
  return EXIT_DENIED;
}
