/**
 * The `respguard` command: picks the subcommand from the first argument and returns its exit
 * status. bin/respguard.js calls `main` with the process arguments; tests call it with their
 * own CliIo. Arguments starting with "-" and no subcommand mean `run`.
 */
import { readFileSync } from 'node:fs';
import { EXIT_USAGE } from './args.js';
import { auditCommand } from './audit.js';
import { checkConfigCommand } from './check-config.js';
import { dryrunCommand } from './dryrun.js';
import { hashPasswordCommand } from './hash-password.js';
import { HELP } from './help.js';
import { processIo, type CliIo } from './io.js';
import { runCommand } from './run.js';

type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = {
  run: runCommand,
  'check-config': checkConfigCommand,
  'hash-password': hashPasswordCommand,
  dryrun: dryrunCommand,
  audit: auditCommand,
};

/**
 * Runs the command line `argv` (without the node and script paths) and returns the exit status.
 * `run` resolves only after the proxy has stopped.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number | undefined> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(HELP.respguard!);
    return EXIT_USAGE;
  }
  if (first === '-h' || first === '--help' || first === 'help') {
    io.stdout.write(HELP.respguard!);
    return 0;
  }
  if (first === '-v' || first === '--version') {
    io.stdout.write(`respguard ${packageVersion()}\n`);
    return 0;
  }

  const command = COMMANDS[first];
  if (command !== undefined) return command(rest, io);
  if (first.startsWith('-')) return runCommand(argv, io);

  io.stderr.write(`respguard: unknown command "${first}"\nRun "respguard --help" for the list of commands.\n`);
  return EXIT_USAGE;
}

/** Reads the version from package.json, two levels above both src/cli and dist/cli. */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
