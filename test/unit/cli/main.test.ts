import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HELP } from '../../../src/cli/help.js';
import { main } from '../../../src/cli/main.js';
import { makeIo } from './helpers.js';

describe('main', () => {
  it('prints help', async () => {
    const io = makeIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdoutText()).toBe(HELP.respguard);
  });

  it('prints usage without arguments', async () => {
    const io = makeIo();
    expect(await main([], io)).toBe(2);
    expect(io.stderrText()).toBe(HELP.respguard);
  });

  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const io = makeIo();
    expect(await main(['--version'], io)).toBe(0);
    expect(io.stdoutText()).toBe(`respguard ${version}\n`);
  });

  it('rejects an unknown command', async () => {
    const io = makeIo();
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(io.stderrText()).toBe('respguard: unknown command "frobnicate"\nRun "respguard --help" for the list of commands.\n');
  });

  it('requires --url for audit', async () => {
    const io = makeIo();
    expect(await main(['audit'], io)).toBe(2);
    expect(io.stderrText()).toBe('respguard audit: missing --url URL\nRun "respguard audit --help" for usage.\n');
  });

  it.each(['run', 'check-config', 'hash-password', 'dryrun', 'audit'])('prints help of %s', async (command) => {
    const io = makeIo();
    expect(await main([command, '--help'], io)).toBe(0);
    expect(io.stdoutText()).toBe(HELP[command]);
  });

  it('requires --config for run', async () => {
    const io = makeIo();
    expect(await main(['run'], io)).toBe(2);
    expect(io.stderrText()).toBe('respguard run: missing the config file: give it as FILE or as --config FILE\nRun "respguard run --help" for usage.\n');
  });

  it('rejects an unknown option', async () => {
    const io = makeIo();
    expect(await main(['--config', 'x.yaml', '--verbose'], io)).toBe(2);
    expect(io.stderrText()).toBe(
      "respguard run: Unknown option '--verbose'. To specify a positional argument starting with a '-', place it at the end of the " +
        `command after '--', as in '-- "--verbose"\nRun "respguard run --help" for usage.\n`,
    );
  });
});
