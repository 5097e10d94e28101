/**
 * Argument parsing shared by the subcommands: node:util parseArgs in strict mode, with usage
 * errors printed as `respguard COMMAND: message` and a pointer to the command's help.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliIo } from './io.js';

/** Exit status of a usage error (unknown option, missing argument), as most Unix tools use. */
export const EXIT_USAGE = 2;

type ParsedArgs = ReturnType<typeof parseArgs<ParseArgsConfig>>;

/**
 * Parses `args` with `options` plus `-h/--help`. Returns undefined after printing a usage error
 * to standard error.
 */
export function parseCommandArgs(
  command: string,
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  io: CliIo,
  allowPositionals = false,
): ParsedArgs | undefined {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals,
    });
  } catch (error) {
    printUsageError(command, (error as Error).message, io);
    return undefined;
  }
}

/** Prints a usage error and the way to the command's help. */
export function printUsageError(command: string, message: string, io: CliIo): void {
  io.stderr.write(`respguard ${command}: ${message}\nRun "respguard ${command} --help" for usage.\n`);
}

/** Reads a string option that parseArgs returned, or undefined. */
export function stringOption(parsed: ParsedArgs, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}
