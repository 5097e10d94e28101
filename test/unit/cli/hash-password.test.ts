import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { makeIo, type TestIo } from './helpers.js';

function hashOf(password: string | Buffer): string {
  return `#${createHash('sha256').update(password).digest('hex')}\n`;
}

async function hashFromStdin(input: string | Buffer): Promise<{ code: number | undefined; io: TestIo }> {
  const io = makeIo();
  const result = main(['hash-password'], io);
  io.stdin.end(input);
  return { code: await result, io };
}

/** Makes the test stdin look like a terminal that records raw-mode changes. */
function asTerminal(io: TestIo): boolean[] {
  const modes: boolean[] = [];
  Object.assign(io.stdin, { isTTY: true, setRawMode: (mode: boolean) => modes.push(mode) });
  return modes;
}

describe('hash-password', () => {
  it('hashes the first line', async () => {
    const { code, io } = await hashFromStdin('reader-secret\nsecond line\n');
    expect(code).toBe(0);
    expect(io.stdoutText()).toBe('#f03319dee240faa729e0cfa7ab5ffd80a1d64a127e3643f239009abff6382914\n');
    expect(io.stderrText()).toBe('');
  });

  it('hashes input without a newline', async () => {
    const { code, io } = await hashFromStdin('reader-secret');
    expect(code).toBe(0);
    expect(io.stdoutText()).toBe(hashOf('reader-secret'));
  });

  it('drops a carriage return', async () => {
    const { io } = await hashFromStdin('p@ss word\r\n');
    expect(io.stdoutText()).toBe(hashOf('p@ss word'));
  });

  it('keeps bytes that are not UTF-8', async () => {
    const password = Buffer.from([0x70, 0xff, 0xfe, 0x71]);
    const { io } = await hashFromStdin(Buffer.concat([password, Buffer.from('\n')]));
    expect(io.stdoutText()).toBe(hashOf(password));
  });

  it('reads a line split over chunks', async () => {
    const io = makeIo();
    const result = main(['hash-password'], io);
    io.stdin.write('reader-');
    await new Promise((resolve) => setImmediate(resolve));
    io.stdin.write('secret\n');
    expect(await result).toBe(0);
    expect(io.stdoutText()).toBe(hashOf('reader-secret'));
  });

  it('rejects an empty password', async () => {
    const { code, io } = await hashFromStdin('\n');
    expect(code).toBe(1);
    expect(io.stdoutText()).toBe('');
    expect(io.stderrText()).toBe(
      'respguard hash-password: the password is empty: write it on the first line of standard input\n' +
        'Run "respguard hash-password --help" for usage.\n',
    );
  });

  it('prompts on a terminal without echo', async () => {
    const io = makeIo();
    const modes = asTerminal(io);
    const result = main(['hash-password'], io);
    io.stdin.write('pwx\u007f\r');
    await new Promise((resolve) => setImmediate(resolve));
    io.stdin.write('pw\r');
    expect(await result).toBe(0);
    expect(io.stdoutText()).toBe(hashOf('pw'));
    expect(io.stderrText()).toBe('Password: \nRepeat password: \n');
    expect(modes).toEqual([true, false, true, false]);
  });

  it('rejects differing terminal entries', async () => {
    const io = makeIo();
    asTerminal(io);
    const result = main(['hash-password'], io);
    io.stdin.write('one\r');
    await new Promise((resolve) => setImmediate(resolve));
    io.stdin.write('two\r');
    expect(await result).toBe(1);
    expect(io.stdoutText()).toBe('');
    expect(io.stderrText()).toBe(
      'Password: \nRepeat password: \nrespguard hash-password: the passwords do not match; nothing was printed\n',
    );
  });

  it('stops on Ctrl-C at the prompt', async () => {
    const io = makeIo();
    const modes = asTerminal(io);
    const result = main(['hash-password'], io);
    io.stdin.write('sec\u0003');
    expect(await result).toBe(1);
    expect(io.stdoutText()).toBe('');
    expect(io.stderrText()).toBe('Password: \nrespguard hash-password: cancelled; nothing was printed\n');
    expect(modes).toEqual([true, false]);
  });

  it('rejects a password argument', async () => {
    const io = makeIo();
    expect(await main(['hash-password', 'secret'], io)).toBe(2);
    expect(io.stderrText()).toBe(
      'respguard hash-password: Unexpected argument \'secret\'. This command does not take positional arguments\n' +
        'Run "respguard hash-password --help" for usage.\n',
    );
  });
});
