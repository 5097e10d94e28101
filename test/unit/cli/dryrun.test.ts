import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { makeConfigDir, makeIo } from './helpers.js';

const CONFIG = `
listeners:
  - { host: 127.0.0.1, port: 6380 }
blockCommands: [FLUSHALL, "CONFIG|SET", CLIENT]
users:
  cache_reader: { acl: "on >r ~cache:* +get +mget +scan +ping" }
  admin: { acl: "on >a ~* &* +@all" }
  writer: { acl: "on >w %R~src:* %W~dst:* &news.* +@all -@dangerous (~tmp:* +set +mset)" }
  sorter: { acl: "on >t ~src:* ~dst:* +sort" }
  scripter: { acl: "on >s ~k* +@scripting" }
  shadow: { acl: "on >h ~cache:* +get", enforce: false }
`;

const KEY_REPLY = 'NOPERM this user has no permissions to access one of the keys used as arguments';

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
    [
      'denied command',
      'cache_reader',
      ['SET', 'cache:1', 'v'],
      1,
      `denied: user "cache_reader" may not run 'set', because no selector of the user allows the command. Allow it with +set or a category that contains it. The client gets: NOPERM this user has no permissions to run the 'set' command\n`,
    ],
    [
      'denied key',
      'cache_reader',
      ['GET', 'other:1'],
      1,
      `denied: user "cache_reader" may not read key "other:1" (argument 1 of 'get'), because no key pattern of its root rules (~cache:*) allows read access to it. The client gets: ${KEY_REPLY}\n`,
    ],
    [
      'denied second key',
      'cache_reader',
      ['MGET', 'cache:1', 'other:1'],
      1,
      `denied: user "cache_reader" may not read key "other:1" (argument 2 of 'mget'), because no key pattern of its root rules (~cache:*) allows read access to it. The client gets: ${KEY_REPLY}\n`,
    ],
    [
      'denied write in a selector',
      'writer',
      ['MSET', 'tmp:1', 'v', 'src:1', 'v'],
      1,
      `denied: user "writer" may not write key "src:1" (argument 3 of 'mset'), because no key pattern of its selector 1 (~tmp:*) allows write access to it. The client gets: ${KEY_REPLY}\n`,
    ],
    [
      'denied subcommand key',
      'writer',
      ['OBJECT', 'ENCODING', 'other'],
      1,
      `denied: user "writer" may not use key "other" (argument 1 of 'object|encoding'), because no key pattern of its root rules (%R~src:* %W~dst:* &news.*) matches it. The client gets: ${KEY_REPLY}\n`,
    ],
    [
      'denied channel',
      'writer',
      ['PUBLISH', 'alerts', 'm'],
      1,
      `denied: user "writer" may not use channel "alerts" (argument 1 of 'publish'), because no channel pattern of its root rules (%R~src:* %W~dst:* &news.*) matches it. The client gets: NOPERM this user has no permissions to access one of the channels used as arguments\n`,
    ],
    [
      'denied pattern subscription',
      'writer',
      ['PSUBSCRIBE', 'news.x*'],
      1,
      `denied: user "writer" may not use channel pattern "news.x*" (argument 1 of 'psubscribe'), because no channel pattern of its root rules (%R~src:* %W~dst:* &news.*) is equal to it. The client gets: NOPERM this user has no permissions to access one of the channels used as arguments\n`,
    ],
    [
      'denied touched key',
      'writer',
      ['GEORADIUS', 'src:1', '1', '2', '3', 'km', 'STORE', 'dst:1', 'STORE', 'src:2'],
      1,
      `denied: user "writer" may not write key "src:2" (argument 9 of 'georadius'), because no key pattern of its root rules (%R~src:* %W~dst:* &news.*) allows write access to it. Redis 7.0's own ACL check misses this key, but GEORADIUS touches it. The client gets: ${KEY_REPLY}\n`,
    ],
    [
      'denied sort pattern',
      'sorter',
      ['SORT', 'src:1', 'BY', 'w_*', 'STORE', 'dst:1'],
      1,
      `denied: user "sorter" may not use the BY pattern "w_*" (argument 3 of 'sort'), because SORT patterns need a selector that allows the command and may read every key (allkeys or %R~*). The client gets: ERR BY option of SORT denied due to insufficient ACL permissions.\n`,
    ],
    [
      'denied script',
      'scripter',
      ['EVAL', 'return 1', '1', 'k1'],
      1,
      `denied: user "scripter" may not run 'eval', because scripts and functions run with respguard's upstream rights, beyond the user's rules and blockCommands. Set allowScripts: true for the user to allow them. The client gets: NOPERM this user has no permissions to run the 'eval' command, because scripts and functions run with respguard's upstream rights, beyond this user's ACL rules and respguard's blockCommands. Set allowScripts: true for the user in the respguard config to allow them\n`,
    ],
    [
      'denied report-only user',
      'shadow',
      ['GET', 'other'],
      1,
      `denied (report-only user: respguard would log this and forward the command): user "shadow" may not read key "other" (argument 1 of 'get'), because no key pattern of its root rules (~cache:*) allows read access to it. The client gets: ${KEY_REPLY}\n`,
    ],
    ['auth needs no permission', 'cache_reader', ['AUTH', 'cache_reader', 'r'], 0, 'OK\n'],
    [
      'blocked command',
      'admin',
      ['FLUSHALL'],
      1,
      "blocked: 'flushall' is blocked for every user by the FLUSHALL entry of blockCommands. The client gets: ERR command 'flushall' is blocked by respguard\n",
    ],
    [
      'blocked subcommand',
      'admin',
      ['CONFIG', 'SET', 'maxmemory', '1'],
      1,
      "blocked: 'config|set' is blocked for every user by the CONFIG|SET entry of blockCommands. The client gets: ERR command 'config|set' is blocked by respguard\n",
    ],
    [
      'blocked by container',
      'admin',
      ['CLIENT', 'KILL', '1.2.3.4:5'],
      1,
      "blocked: 'client|kill' is blocked for every user by the CLIENT entry of blockCommands. The client gets: ERR command 'client|kill' is blocked by respguard\n",
    ],
    ['other subcommand allowed', 'admin', ['CONFIG', 'GET', 'maxmemory'], 0, 'OK\n'],
    [
      'wrong arity',
      'admin',
      ['GET'],
      1,
      "rejected: the request is invalid. The client gets: ERR wrong number of arguments for 'get' command\n",
    ],
    [
      'unknown subcommand',
      'admin',
      ['CONFIG', 'NOPE'],
      1,
      "rejected: the request is invalid. The client gets: ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\n",
    ],
  ])('%s', async (_name, user, command, code, stdout) => {
    const result = await dryrun(user, command);
    expect(result.stdout).toBe(stdout);
    expect(result.code).toBe(code);
    expect(result.stderr).toBe('');
  });

  it.each([
    ['replconf', ['REPLCONF', 'listening-port', '6390']],
    ['psync', ['PSYNC', '?', '-1']],
    ['sync', ['SYNC']],
  ])('reports the refusal of %s', async (name, command) => {
    const result = await dryrun('admin', command);
    expect(result.stdout).toBe(
      `rejected: '${name}' never runs through respguard, because it would turn a pooled upstream connection into a replication stream. ` +
        `The client gets: ERR '${name}' cannot run through respguard: a replica must connect to Redis directly\n`,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
  });

  it('reports the refusal of SCRIPT DEBUG', async () => {
    const result = await dryrun('admin', ['SCRIPT', 'DEBUG', 'YES']);
    expect(result.stdout).toBe(
      "rejected: 'script|debug' never runs through respguard, because it would put a pooled upstream connection into the Lua debugger. " +
        "The client gets: ERR 'script|debug' cannot run through respguard: the Lua debugger needs a direct connection to Redis\n",
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
  });

  it('reports an unknown command', async () => {
    const result = await dryrun('admin', ['NOSUCH']);
    expect(result.code).toBe(1);
    expect(result.stdout.startsWith("rejected: the request is invalid. The client gets: ERR unknown command 'NOSUCH', with args beginning with: ")).toBe(true);
  });

  it('exits 2 for an unknown user', async () => {
    const result = await dryrun('nobody', ['GET', 'k']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`respguard dryrun: user "nobody" is not defined in ${file}; its users are: cache_reader, admin, writer, sorter, scripter, shadow\n`);
  });

  it('reports an invalid config', async () => {
    const bad = configs.write('bad.yaml', CONFIG.replace('port: 6380', 'port: 0'));
    const io = makeIo();
    expect(await main(['dryrun', '-c', bad, '-u', 'admin', '--', 'PING'], io)).toBe(2);
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

  it('takes FILE before --', async () => {
    const io = makeIo();
    expect(await main(['dryrun', file, '-u', 'cache_reader', '--', 'GET', 'cache:1'], io)).toBe(0);
    expect(io.stdoutText()).toBe('OK\n');
    expect(io.stderrText()).toBe('');
  });

  it('rejects FILE together with --config', async () => {
    const io = makeIo();
    expect(await main(['dryrun', file, '-c', file, '-u', 'admin', '--', 'PING'], io)).toBe(2);
    expect(io.stdoutText()).toBe('');
    expect(io.stderrText()).toBe(
      'respguard dryrun: give the config file once, either as FILE or as --config FILE\nRun "respguard dryrun --help" for usage.\n',
    );
  });

  it('reads arguments without -- as the command', async () => {
    const io = makeIo();
    expect(await main(['dryrun', '-c', file, '-u', 'cache_reader', 'GET', 'other:1'], io)).toBe(1);
    expect(io.stdoutText()).toBe(
      `denied: user "cache_reader" may not read key "other:1" (argument 1 of 'get'), because no key pattern of its root rules (~cache:*) allows read access to it. The client gets: ${KEY_REPLY}\n`,
    );
  });

  it('passes dashed arguments after --', async () => {
    const io = makeIo();
    expect(await main(['dryrun', '-c', file, '-u', 'admin', '--', 'SET', 'k', '-1'], io)).toBe(0);
    expect(io.stdoutText()).toBe('OK\n');
  });
});
