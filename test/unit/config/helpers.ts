/**
 * Shared fixtures of the config tests: a minimal valid file, a temporary directory with TLS
 * files (the loader checks only that they exist and are readable), and a helper that returns
 * the error lines of an invalid config.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import { RespguardError } from '../../../src/errors.js';

/** A valid config with one loopback listener and one user. */
export const MINIMAL = `
listeners:
  - host: 127.0.0.1
    port: 6380
users:
  app:
    acl: "on >secret ~* +@all"
`;

/** A directory with server.crt, server.key and ca.crt, and the path of a config file inside it. */
export interface TlsDir {
  readonly dir: string;
  readonly configFile: string;
  remove(): void;
}

/** Creates a temporary directory with placeholder TLS files. */
export function makeTlsDir(): TlsDir {
  const dir = mkdtempSync(path.join(tmpdir(), 'respguard-config-'));
  for (const name of ['server.crt', 'server.key', 'ca.crt', 'client.crt', 'client.key']) {
    writeFileSync(path.join(dir, name), `placeholder ${name}\n`);
  }
  return {
    dir,
    configFile: path.join(dir, 'respguard.yaml'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Parses `text` and returns the lines of the RG_ERR_CONFIG error; fails when it parses. */
export function configErrors(text: string, file = 'respguard.yaml', env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, file, env);
  } catch (error) {
    if (error instanceof RespguardError && error.code === 'RG_ERR_CONFIG') return error.message.split('\n');
    throw error;
  }
  throw new Error('expected the config to be rejected, but it loaded');
}
