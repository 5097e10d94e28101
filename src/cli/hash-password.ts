/**
 * `respguard hash-password`: prints the `#<sha256 hex>` form of a password, which ACL rules
 * accept in place of `>password` so that a config file need not contain the password itself.
 */
import { sha256 } from '../auth/credentials.js';
import { EXIT_USAGE, parseCommandArgs, printUsageError } from './args.js';
import { HELP } from './help.js';
import type { CliInput, CliIo } from './io.js';
import { readHiddenLine } from './prompt.js';

const LF = 0x0a;
const CR = 0x0d;

/** Runs `hash-password`; returns 0 after printing the hash, 1 for an empty or mistyped password. */
export async function hashPasswordCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs('hash-password', args, {}, io);
  if (parsed === undefined) return EXIT_USAGE;
  if (parsed.values.help) {
    io.stdout.write(HELP['hash-password']!);
    return 0;
  }

  const password = io.stdin.isTTY ? await promptPassword(io) : await readFirstLine(io.stdin);
  if (password === undefined) return 1;
  if (password.length === 0) {
    printUsageError('hash-password', 'the password is empty: write it on the first line of standard input', io);
    return 1;
  }
  io.stdout.write(`#${sha256(password).toString('hex')}\n`);
  return 0;
}

/** Prompts twice without echo. Returns undefined when the two entries differ or input was cancelled. */
async function promptPassword(io: CliIo): Promise<Buffer | undefined> {
  const first = await readHiddenLine(io.stdin, io.stderr, 'Password: ');
  const second = first === undefined ? undefined : await readHiddenLine(io.stdin, io.stderr, 'Repeat password: ');
  if (first === undefined || second === undefined) {
    io.stderr.write('respguard hash-password: cancelled; nothing was printed\n');
    return undefined;
  }
  if (first !== second) {
    io.stderr.write('respguard hash-password: the passwords do not match; nothing was printed\n');
    return undefined;
  }
  return Buffer.from(first, 'utf8');
}

/**
 * Reads standard input up to the first line feed, or to its end. Returns the line without the
 * line feed and without a carriage return before it. The bytes are kept as given, so that the
 * hash matches a password that is not valid UTF-8.
 */
export function readFirstLine(input: CliInput): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const finish = (): void => {
      input.removeListener('data', onData);
      input.removeListener('end', finish);
      input.removeListener('error', onError);
      // Closing standard input lets the process exit even when the writer keeps the pipe open.
      input.destroy?.();

      const all = Buffer.concat(chunks);
      const lineFeed = all.indexOf(LF);
      let line = lineFeed === -1 ? all : all.subarray(0, lineFeed);
      if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
      resolve(line);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      chunks.push(bytes);
      if (bytes.includes(LF)) finish();
    };
    const onError = (error: Error): void => reject(error);

    input.on('data', onData);
    input.once('end', finish);
    input.once('error', onError);
    input.resume();
  });
}
