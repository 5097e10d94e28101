/**
 * `respguard check-config FILE`: validates a config the way start-up does, including the ACL
 * rules and the blocklist, without opening a socket. Settings that are valid but weaken the
 * policy (report-only users, users allowed to run scripts) are printed as warnings on standard
 * error and do not change the exit status.
 */
import type { Config } from '../config/types.js';
import { EXIT_USAGE, parseCommandArgs, printUsageError } from './args.js';
import { HELP } from './help.js';
import type { CliIo } from './io.js';
import { loadPolicy } from './load-policy.js';

/** Runs `check-config`; returns 0 when the config is valid, 1 when not, 2 on a usage error. */
export async function checkConfigCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs('check-config', args, {}, io, true);
  if (parsed === undefined) return EXIT_USAGE;
  if (parsed.values.help) {
    io.stdout.write(HELP['check-config']!);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    printUsageError('check-config', 'expected exactly one FILE argument', io);
    return EXIT_USAGE;
  }

  const file = parsed.positionals[0]!;
  const loaded = await loadPolicy(file, io);
  if (loaded === undefined) return 1;

  const listeners = loaded.config.listeners.length;
  const users = Object.keys(loaded.config.users).length;
  io.stdout.write(`${file}: OK (${count(listeners, 'listener')}, ${count(users, 'user')})\n`);
  for (const warning of policyWarnings(loaded.config)) io.stderr.write(`${file}: ${warning}\n`);
  return 0;
}

/**
 * Lists a warning for every user in report-only mode (`enforce: false`) and every user with
 * `allowScripts: true`, each as `users.NAME.FIELD: warning: ...`.
 */
export function policyWarnings(config: Config): string[] {
  const warnings: string[] = [];
  for (const [name, user] of Object.entries(config.users)) {
    if (user.enforce === false) {
      warnings.push(
        `users.${name}.enforce: warning: the user is in report-only mode, so commands that its ACL rules deny ` +
          'are logged and forwarded all the same. Remove "enforce: false" to enforce the rules',
      );
    }
    if (user.allowScripts === true) {
      warnings.push(
        `users.${name}.allowScripts: warning: scripts and functions from this user run with respguard's upstream ` +
          "rights, so they can read and write keys and run commands that the user's ACL rules deny",
      );
    }
  }
  return warnings;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
