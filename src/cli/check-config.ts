/**
 * `respguard check-config FILE`: validates a config the way start-up does, including the ACL
 * rules and the blocklist, without opening a socket.
 */
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
  return 0;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
