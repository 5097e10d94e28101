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
      tokens: true,
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

/** The config file that a command line names, or the usage error that explains why it names none. */
export type ConfigFileArgument = { readonly file: string; readonly error?: undefined } | { readonly file?: undefined; readonly error: string };

/**
 * Picks the config file from `--config FILE` (`option`) or from `positionals`, where it may be
 * given as the one FILE argument instead. Both forms at once, or more than one FILE, is a usage
 * error.
 */
export function configFileArgument(option: string | undefined, positionals: readonly string[]): ConfigFileArgument {
  if (positionals.length > 1) return { error: `expected one FILE argument, got ${positionals.length}` };
  const positional = positionals[0];
  if (option !== undefined && positional !== undefined) return { error: 'give the config file once, either as FILE or as --config FILE' };
  const file = option ?? positional;
  return file === undefined ? { error: 'missing the config file: give it as FILE or as --config FILE' } : { file };
}

/**
 * Splits the positional arguments at the first `--`: the ones before it and the ones after it.
 * Without `--`, every positional argument is in `after`.
 */
export function positionalsAroundTerminator(parsed: ParsedArgs): { before: string[]; after: string[] } {
  const tokens = parsed.tokens ?? [];
  const terminator = tokens.find((token) => token.kind === 'option-terminator');
  if (terminator === undefined) return { before: [], after: [...parsed.positionals] };
  const before = tokens.flatMap((token) => (token.kind === 'positional' && token.index < terminator.index ? [token.value] : []));
  return { before, after: parsed.positionals.slice(before.length) };
}
