/**
 * Entry point of configuration loading: read the file, parse the YAML, expand `${VAR}`
 * references, validate and fill defaults, then freeze. Every failure is one
 * RespguardError('RG_ERR_CONFIG') whose message lists all errors found, one per line, each
 * starting with the file path as the caller gave it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { RespguardError } from '../errors.js';
import { expandEnvironment } from './env.js';
import { FieldReader } from './fields.js';
import { ConfigProblems } from './problems.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';

/**
 * Reads, expands, validates and normalizes a config file; returns a deep-frozen Config.
 * Throws RespguardError('RG_ERR_CONFIG', message) when the file cannot be read or is invalid.
 */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new RespguardError('RG_ERR_CONFIG', `${file}: cannot read the config file: ${reason}`, { cause: error });
  }
  return parseConfig(text, file, env);
}

/**
 * Does the work of {@link loadConfig} on YAML text that was read from `file`. Relative file
 * paths in the config (TLS certificates and keys) are resolved against the directory of `file`.
 */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const problems = new ConfigProblems(file);
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new RespguardError('RG_ERR_CONFIG', document.errors.map((error) => formatSyntaxError(file, error)).join('\n'));
  }

  let tree: unknown;
  try {
    tree = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // The yaml package throws here when aliases expand too far (a "billion laughs" file).
    throw new RespguardError('RG_ERR_CONFIG', `${file}: ${(error as Error).message}`, { cause: error });
  }
  const expanded = expandEnvironment(tree, env, problems);
  const absoluteFile = path.resolve(file);
  const reader = new FieldReader(problems, expanded.expandedPaths, path.dirname(absoluteFile));
  const config = validateConfig(expanded.value, reader, absoluteFile);
  problems.throwIfAny();
  if (config === undefined) {
    // validateConfig returns undefined only after reporting an error; this guards that contract.
    throw new RespguardError('RG_ERR_CONFIG', `${file}: invalid configuration`);
  }
  return deepFreeze(config);
}

/**
 * Formats a YAML syntax error as `FILE:LINE:COLUMN: message`. The excerpt of the source line
 * that the yaml package can add is left out, because that line may contain a password.
 */
function formatSyntaxError(file: string, error: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }): string {
  const message = error.message.replace(/ at line \d+, column \d+[\s\S]*$/, '');
  const position = error.linePos?.[0];
  return position ? `${file}:${position.line}:${position.col}: ${message}` : `${file}: ${message}`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
