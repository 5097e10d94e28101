import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { makeConfigDir, makeIo } from './helpers.js';

const CONFIG = `
listeners:
  - { host: 127.0.0.1, port: 6380 }
blockCommands: [FLUSHALL, "CONFIG|SET"]
users:
  cache_reader: { acl: "on >r ~cache:* +get +mget +scan +ping" }
  admin: { acl: "on >a ~* &* +@all" }
`;

describe('dryrun', () => {
  const configs = makeConfigDir();
  const file = configs.write('respguard.yaml', CONFIG);
  afterAll(() => configs.remove());

  async function dryrun(user: string, command: string[]): Promise<{ code: number | undefined; stdout: string; stderr: string }> {
    const io = makeIo();
    const code = await main(['dryrun', '--config', file, '--user', user, '--', ...command], io);
    return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
  }

  it.each([
    ['allowed read', 'cache_reader', ['GET', 'cache:1'], 0, 'OK\n'],
    ['allowed multi-key read', 'cache_reader', ['mget', 'cache:1', 'cache:2'], 0, 'OK\n'],
    ['denied command', 'cache_reader', ['SET', 'cache:1', 'v'], 1, "NOPERM this user has no permissions to run the 'set' command\n"],
    ['denied key', 'cache_reader', ['GET', 'other:1'], 1, 'NOPERM this user has no permissions to access one of the keys used as arguments\n'],
    ['denied second key', 'cache_reader', ['MGET', 'cache:1', 'other:1'], 1, 'NOPERM this user has no permissions to access one of the keys used as arguments\n'],
    ['auth needs no permission', 'cache_reader', ['AUTH', 'cache_reader', 'r'], 0, 'OK\n'],
    ['blocked command', 'admin', ['FLUSHALL'], 1, "ERR command 'flushall' is blocked by respguard\n"],
    ['blocked subcommand', 'admin', ['CONFIG', 'SET', 'maxmemory', '1'], 1, "ERR command 'config|set' is blocked by respguard\n"],
    ['other subcommand allowed', 'admin', ['CONFIG', 'GET', 'maxmemory'], 0, 'OK\n'],
    ['wrong arity', 'admin', ['GET'], 1, "ERR wrong number of arguments for 'get' command\n"],
    ['unknown subcommand', 'admin', ['CONFIG', 'NOPE'], 1, "ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\n"],
  ])('%s', async (_name, user, command, code, stdout) => {
    const result = await dryrun(user, command);
    expect(result.code).toBe(code);
    expect(result.stdout).toBe(stdout);
    expect(result.stderr).toBe('');
  });

  it('reports an unknown command', async () => {
    const result = await dryrun('admin', ['NOSUCH']);
    expect(result.code).toBe(1);
    expect(result.stdout.startsWith("ERR unknown command 'NOSUCH', with args beginning with: ")).toBe(true);
  });

  it('exits 2 for an unknown user', async () => {
    const result = await dryrun('nobody', ['GET', 'k']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`respguard dryrun: user "nobody" is not defined in ${file}; its users are: cache_reader, admin\n`);
  });

  it('reports an invalid config', async () => {
    const bad = configs.write('bad.yaml', CONFIG.replace('port: 6380', 'port: 0'));
    const io = makeIo();
    expect(await main(['dryrun', '-c', bad, '-u', 'admin', '--', 'PING'], io)).toBe(1);
    expect(io.stdoutText()).toBe('');
    expect(io.stderrText()).toBe(`${bad}: listeners[0].port: invalid value "0": expected an integer from 1 to 65535\n`);
  });

  it('reports missing options', async () => {
    const io = makeIo();
    expect(await main(['dryrun', '--config', file], io)).toBe(2);
    expect(io.stderrText()).toBe(
      'respguard dryrun: missing --user NAME, a COMMAND after --\nRun "respguard dryrun --help" for usage.\n',
    );
  });

  it('passes dashed arguments after --', async () => {
    const io = makeIo();
    expect(await main(['dryrun', '-c', file, '-u', 'admin', '--', 'SET', 'k', '-1'], io)).toBe(0);
    expect(io.stdoutText()).toBe('OK\n');
  });
});
