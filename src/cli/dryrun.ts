/**
 * `respguard dryrun`: shows what respguard would do with one command from one user, in the
 * order a session checks a request: command lookup and arity, then the user's ACL rules
 * (skipped for commands flagged no_auth, as Redis does), then the blocklist.
 */
import { blockedText } from '../acl/blocklist.js';
import { nopermText } from '../acl/noperm.js';
import { EXIT_USAGE, parseCommandArgs, printUsageError, stringOption } from './args.js';
import { HELP } from './help.js';
import type { CliIo } from './io.js';
import { loadPolicy } from './load-policy.js';

/** Exit status when the named user is not in the config. */
const EXIT_UNKNOWN_USER = 2;

/**
 * Runs `dryrun`. Prints "OK" and returns 0 when the command would be forwarded; prints the
 * error reply and returns 1 when it would be rejected. Returns 2 for an unknown user or a
 * usage error.
 */
export async function dryrunCommand(args: string[], io: CliIo): Promise<number> {
  const options = { config: { type: 'string', short: 'c' }, user: { type: 'string', short: 'u' } } as const;
  const parsed = parseCommandArgs('dryrun', args, options, io, true);
  if (parsed === undefined) return EXIT_USAGE;
  if (parsed.values.help) {
    io.stdout.write(HELP.dryrun!);
    return 0;
  }

  const file = stringOption(parsed, 'config');
  const userName = stringOption(parsed, 'user');
  const missing: string[] = [];
  if (file === undefined) missing.push('--config FILE');
  if (userName === undefined) missing.push('--user NAME');
  if (parsed.positionals.length === 0) missing.push('a COMMAND after --');
  if (file === undefined || userName === undefined || missing.length > 0) {
    printUsageError('dryrun', `missing ${missing.join(', ')}`, io);
    return EXIT_USAGE;
  }

  const loaded = await loadPolicy(file, io);
  if (loaded === undefined) return 1;
  const user = loaded.policy.users.get(userName);
  if (user === undefined) {
    const known = [...loaded.policy.users.keys()].join(', ');
    io.stderr.write(`respguard dryrun: user "${userName}" is not defined in ${file}; its users are: ${known}\n`);
    return EXIT_UNKNOWN_USER;
  }

  const commandArgs = parsed.positionals.map((arg) => Buffer.from(arg, 'utf8'));
  const lookup = loaded.table.resolve(commandArgs);
  // Lookup errors quote request bytes decoded as latin1; encoding back gives the bytes Redis sends.
  if (lookup.kind !== 'ok') return reject(Buffer.from(lookup.error, 'latin1'), io);

  const command = lookup.command;
  if (!command.flags.has('no_auth')) {
    const decision = user.check(command, commandArgs);
    if (!decision.allowed) return reject(nopermText(decision, user.name), io);
  }
  if (loaded.policy.blocklist.blocks(command)) return reject(blockedText(command), io);

  io.stdout.write('OK\n');
  return 0;
}

/** Prints the error reply text that the client would get, as redis-cli shows it (without the "-"). */
function reject(text: string | Buffer, io: CliIo): number {
  io.stdout.write(text);
  io.stdout.write('\n');
  return 1;
}
