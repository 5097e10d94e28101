/**
 * A CliIo for tests: captured standard output and error, a standard input stream the test
 * writes to, signals sent by emitting on an EventEmitter, and parsed log lines.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliInput, CliIo } from '../../../src/cli/io.js';
import { captureLogs, type LogCapture } from '../../helpers/proxy.js';

export interface TestIo extends CliIo {
  readonly stdin: PassThrough & CliInput;
  readonly signals: EventEmitter;
  readonly logs: LogCapture;
  /** Exit codes passed to afterShutdown. */
  readonly shutdowns: number[];
  stdoutText(): string;
  stderrText(): string;
}

/** Creates a TestIo; `env` is the environment for `${VAR}` references. */
export function makeIo(env: NodeJS.ProcessEnv = {}): TestIo {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const { capture, stream } = captureLogs();
  const shutdowns: number[] = [];
  return {
    stdin: new PassThrough(),
    stdout,
    stderr,
    signals: new EventEmitter(),
    env,
    logDestination: stream,
    logs: capture,
    shutdowns,
    afterShutdown: (code) => shutdowns.push(code),
    stdoutText: () => Buffer.concat(out).toString('utf8'),
    stderrText: () => Buffer.concat(err).toString('utf8'),
  };
}

/** A temporary directory for config files, removed by `remove`. */
export interface ConfigDir {
  readonly dir: string;
  /** Writes `text` to `name` in the directory and returns its path. */
  write(name: string, text: string): string;
  remove(): void;
}

export function makeConfigDir(): ConfigDir {
  const dir = mkdtempSync(path.join(tmpdir(), 'respguard-cli-'));
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
