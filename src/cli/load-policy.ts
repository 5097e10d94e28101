/**
 * Loading of the config and its compiled policy for the commands that check a config without
 * starting the proxy (check-config, dryrun). Errors are printed with the config path as the
 * user typed it, one error per line.
 */
import { CommandTable } from '../commands/table.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { RespguardError } from '../errors.js';
import { buildPolicy, type Policy } from '../policy.js';
import type { CliIo } from './io.js';

/** A loaded config with its policy compiled against the built-in command table. */
export interface LoadedPolicy {
  readonly config: Config;
  readonly policy: Policy;
  readonly table: CommandTable;
}

/**
 * Loads `file` and compiles its policy. Returns undefined after printing the errors to standard
 * error. Errors other than RespguardError (bugs) are thrown on.
 */
export async function loadPolicy(file: string, io: CliIo): Promise<LoadedPolicy | undefined> {
  let config: Config;
  try {
    config = await loadConfig(file, io.env);
  } catch (error) {
    if (!(error instanceof RespguardError)) throw error;
    io.stderr.write(`${error.message}\n`);
    return undefined;
  }

  const table = CommandTable.default();
  try {
    return { config, policy: buildPolicy(config, table), table };
  } catch (error) {
    if (!(error instanceof RespguardError)) throw error;
    io.stderr.write(`${withGivenPath(error.message, config.file, file)}\n`);
    return undefined;
  }
}

/**
 * Rewrites lines that start with the config's absolute path to start with the path as given,
 * so that every error of one command names the file the same way. A line that names no file
 * gets the given path in front, because every error line must name the file that failed.
 */
export function withGivenPath(message: string, absoluteFile: string, givenFile: string): string {
  return message
    .split('\n')
    .map((line) => {
      if (line.startsWith(`${absoluteFile}:`)) return givenFile + line.slice(absoluteFile.length);
      if (line.startsWith(`${givenFile}:`)) return line;
      return `${givenFile}: ${line}`;
    })
    .join('\n');
}
