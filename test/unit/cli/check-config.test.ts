import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_BLOCKED_COMMANDS } from '../../../src/acl/blocklist.js';
import { main } from '../../../src/cli/main.js';
import { makeConfigDir, makeIo } from './helpers.js';

const VALID = `
listeners:
  - { host: 127.0.0.1, port: 6380 }
  - { host: "::1", port: 6380 }
users:
  reader: { acl: "on #454349e422f05297191ead13e21d3db520e5abef52055e4964b82fb213f593a1 ~cache:* +get" }
  writer: { acl: "on #50e721e49c013f00c62cf59f2163542a9d8df02464efeb615d31051b0fddc326 ~* +@write" }
  admin: { acl: "on #ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb ~admin:* &* +@all -monitor" }
`;

describe('check-config', () => {
  const configs = makeConfigDir();
  afterAll(() => configs.remove());

  it('reports a valid config', async () => {
    const file = configs.write('valid.yaml', VALID);
    const io = makeIo();
    expect(await main(['check-config', file], io)).toBe(0);
    expect(io.stdoutText()).toBe(`${file}: OK (2 listeners, 3 users)\n`);
    expect(io.stderrText()).toBe('');
  });

  it('uses singular counts', async () => {
    const file = configs.write('single.yaml', 'listeners:\n  - { host: 127.0.0.1, port: 6380 }\nusers:\n  app: { acl: "on >x +ping" }\n');
    const io = makeIo();
    expect(await main(['check-config', file], io)).toBe(0);
    expect(io.stdoutText()).toBe(`${file}: OK (1 listener, 1 user)\n`);
  });

  it('accepts the example config', async () => {
    const io = makeIo();
    expect(await main(['check-config', 'config/respguard.example.yaml'], io)).toBe(0);
    expect(io.stdoutText()).toBe('config/respguard.example.yaml: OK (1 listener, 3 users)\n');
    expect(io.stderrText()).toBe(
      'config/respguard.example.yaml: users.app_writer.acl: warning: the file contains a plaintext password (">..."). Replace it with its "#<sha256>" form from respguard hash-password\n' +
        'config/respguard.example.yaml: users.admin.acl: warning: the user may run every command on every key (+@all ~*). Grant only the categories and key patterns it needs\n' +
        'config/respguard.example.yaml: users.admin.acl: warning: the file contains a plaintext password (">..."). Replace it with its "#<sha256>" form from respguard hash-password\n',
    );
  });

  it('reports field errors with the file', async () => {
    const file = configs.write('bad-port.yaml', VALID.replace('port: 6380 }\n  - { host: "::1"', 'port: 0 }\n  - { host: "::1"'));
    const io = makeIo();
    expect(await main(['check-config', file], io)).toBe(1);
    expect(io.stdoutText()).toBe('');
    expect(io.stderrText()).toBe(`${file}: listeners[0].port: invalid value "0": expected an integer from 1 to 65535\n`);
  });

  it('reports an invalid ACL rule with the file as given', async () => {
    configs.write('bad-acl.yaml', VALID.replace('+@write', '+@nosuchcategory'));
    const relative = path.relative(process.cwd(), path.join(configs.dir, 'bad-acl.yaml'));
    const io = makeIo();
    expect(await main(['check-config', relative], io)).toBe(1);
    expect(io.stderrText()).toBe(
      `${relative}: users.writer.acl: user "writer": Error in ACL SETUSER modifier '+@nosuchcategory': Unknown command or category name in ACL\n`,
    );
  });

  it('reports an unknown blocked command', async () => {
    const file = configs.write('bad-block.yaml', `${VALID}blockCommands: [NOSUCHCOMMAND]\n`);
    const io = makeIo();
    expect(await main(['check-config', file], io)).toBe(1);
    expect(io.stderrText().startsWith(`${file}: blockCommands: `)).toBe(true);
    expect(io.stderrText()).toContain('NOSUCHCOMMAND');
  });

  it('warns about report-only and script users', async () => {
    const file = configs.write(
      'warnings.yaml',
      VALID.replace('reader: { acl: "on #454349e422f05297191ead13e21d3db520e5abef52055e4964b82fb213f593a1 ~cache:* +get" }', 'reader: { acl: "on #454349e422f05297191ead13e21d3db520e5abef52055e4964b82fb213f593a1 ~cache:* +get", enforce: false }').replace(
        'writer: { acl: "on #50e721e49c013f00c62cf59f2163542a9d8df02464efeb615d31051b0fddc326 ~* +@write" }',
        'writer: { acl: "on #50e721e49c013f00c62cf59f2163542a9d8df02464efeb615d31051b0fddc326 ~* +@write +@scripting", allowScripts: true, enforce: true }',
      ),
    );
    const io = makeIo();
    expect(await main(['check-config', file], io)).toBe(0);
    expect(io.stdoutText()).toBe(`${file}: OK (2 listeners, 3 users)\n`);
    expect(io.stderrText()).toBe(
      `${file}: users.reader.enforce: warning: the user is in report-only mode, so commands that its ACL rules deny ` +
        'are logged and forwarded all the same. Remove "enforce: false" to enforce the rules\n' +
        `${file}: users.writer.allowScripts: warning: scripts and functions from this user run with respguard's upstream ` +
        "rights, so they can read and write keys and run commands that the user's ACL rules deny\n",
    );
  });

  it('warns about weak security settings', async () => {
    const file = configs.write(
      'weak.yaml',
      [
        'listeners:',
        '  - { host: 127.0.0.1, port: 6380 }',
        '  - { host: 0.0.0.0, port: 6381, allowPlaintext: true }',
        'blockCommands: []',
        'users:',
        '  everything: { acl: "on >plain ~* +@all" }',
        '  local: { acl: "on nopass ~* +get", sources: [127.0.0.1/32] }',
        '',
      ].join('\n'),
    );
    const io = makeIo();
    expect(await main(['check-config', file], io)).toBe(0);
    expect(io.stderrText().split('\n')).toEqual([
      `${file}: listeners[1]: warning: plaintext listener on 0.0.0.0:6381: passwords and data cross the network unencrypted. Add a tls section to it`,
      `${file}: blockCommands: warning: the blocklist is empty, so every user allowed FLUSHALL, CONFIG or SHUTDOWN by its rules can run them. Remove "blockCommands: []" to use the default list`,
      `${file}: users.everything.acl: warning: the user may run every command on every key (+@all ~*). Grant only the categories and key patterns it needs`,
      `${file}: users.everything.acl: warning: the file contains a plaintext password (">..."). Replace it with its "#<sha256>" form from respguard hash-password`,
      `${file}: users.local.acl: warning: nopass lets anyone who reaches a listener log in as this user. Give it a password, a certificate (requireCertificate) or loopback-only sources`,
      '',
    ]);
  });

  it('prints no warning for explicit defaults', async () => {
    const file = configs.write('defaults.yaml', VALID.replace('admin: { acl: "on #ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb ~admin:* &* +@all -monitor" }', 'admin: { acl: "on #ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb ~admin:* &* +@all -monitor", enforce: true, allowScripts: false }'));
    const io = makeIo();
    expect(await main(['check-config', file], io)).toBe(0);
    expect(io.stderrText()).toBe('');
  });

  it('rejects a non-boolean enforce', async () => {
    const file = configs.write('bad-enforce.yaml', VALID.replace('admin: { acl: "on #ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb ~admin:* &* +@all -monitor" }', 'admin: { acl: "on #ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb ~admin:* &* +@all -monitor", enforce: "no", allowScripts: 1 }'));
    const io = makeIo();
    expect(await main(['check-config', file], io)).toBe(1);
    expect(io.stderrText()).toBe(
      `${file}: users.admin.enforce: invalid value "no": expected true or false\n` +
        `${file}: users.admin.allowScripts: invalid value "1": expected true or false\n`,
    );
  });

  it('reports a missing file', async () => {
    const file = path.join(configs.dir, 'absent.yaml');
    const io = makeIo();
    expect(await main(['check-config', file], io)).toBe(1);
    expect(io.stderrText()).toBe(`${file}: cannot read the config file: file not found\n`);
  });

  it('expands variables from the environment', async () => {
    const file = configs.write('env.yaml', VALID.replace('port: 6380 }\n  - { host: "::1"', 'port: "${PORT}" }\n  - { host: "::1"'));
    const io = makeIo({ PORT: '7000' });
    expect(await main(['check-config', file], io)).toBe(0);
    expect(io.stdoutText()).toBe(`${file}: OK (2 listeners, 3 users)\n`);
  });

  it('rejects a missing FILE', async () => {
    const io = makeIo();
    expect(await main(['check-config'], io)).toBe(2);
    expect(io.stderrText()).toBe(
      'respguard check-config: missing the config file: give it as FILE or as --config FILE\nRun "respguard check-config --help" for usage.\n',
    );
  });

  it.each([['--config'], ['-c'], ['--config=']])('accepts the file after %s', async (option) => {
    const file = configs.write('option.yaml', VALID);
    const args = option === '--config=' ? [`--config=${file}`] : [option, file];
    const io = makeIo();
    expect(await main(['check-config', ...args], io)).toBe(0);
    expect(io.stdoutText()).toBe(`${file}: OK (2 listeners, 3 users)\n`);
    expect(io.stderrText()).toBe('');
  });

  it('rejects the file given twice', async () => {
    const file = configs.write('twice.yaml', VALID);
    const io = makeIo();
    expect(await main(['check-config', '--config', file, file], io)).toBe(2);
    expect(io.stdoutText()).toBe('');
    expect(io.stderrText()).toBe(
      'respguard check-config: give the config file once, either as FILE or as --config FILE\nRun "respguard check-config --help" for usage.\n',
    );
  });

  it('rejects two FILE arguments', async () => {
    const io = makeIo();
    expect(await main(['check-config', 'a.yaml', 'b.yaml'], io)).toBe(2);
    expect(io.stderrText()).toBe('respguard check-config: expected one FILE argument, got 2\nRun "respguard check-config --help" for usage.\n');
  });

  it('prints help', async () => {
    const io = makeIo();
    expect(await main(['check-config', '--help'], io)).toBe(0);
    expect(io.stdoutText().startsWith('Usage: respguard check-config FILE\n')).toBe(true);
  });
});

describe('check-config warnings on upstream, limits and MONITOR', () => {
  const configs = makeConfigDir();
  afterAll(() => configs.remove());

  const HEAD = 'listeners:\n  - { host: 127.0.0.1, port: 6380 }\n';
  const READER = 'users:\n  reader: { acl: "on #454349e422f05297191ead13e21d3db520e5abef52055e4964b82fb213f593a1 ~cache:* +get" }\n';

  async function warnings(name: string, yaml: string, env: Record<string, string> = {}): Promise<string[]> {
    const file = configs.write(name, yaml);
    const io = makeIo(env);
    expect(await main(['check-config', file], io)).toBe(0);
    expect(io.stdoutText()).toMatch(/: OK \(/);
    return io
      .stderrText()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.slice(file.length + 2));
  }

  it('warns about unverified upstream TLS', async () => {
    const yaml = `${HEAD}upstream:\n  tls: { rejectUnauthorized: false }\n${READER}`;
    expect(await warnings('tls-unverified.yaml', yaml)).toEqual([
      'upstream.tls.rejectUnauthorized: warning: respguard does not verify the Redis server\'s certificate, so anyone who can ' +
        'intercept the connection can pose as Redis and read the upstream password and all data. Give the server\'s CA in upstream.tls.ca and remove "rejectUnauthorized: false"',
    ]);
  });

  it('accepts verified upstream TLS', async () => {
    expect(await warnings('tls-verified.yaml', `${HEAD}upstream:\n  tls: { rejectUnauthorized: true }\n${READER}`)).toEqual([]);
  });

  it('warns about a literal upstream password', async () => {
    expect(await warnings('literal-password.yaml', `${HEAD}upstream:\n  password: hunter2\n${READER}`)).toEqual([
      'upstream.password: warning: the file contains the upstream password. Read it from the environment instead, as in "password: ${REDIS_PASSWORD}"',
    ]);
  });

  it.each([
    ['${REDIS_PASSWORD}', { REDIS_PASSWORD: 'from-env' }],
    ['${REDIS_PASSWORD:-}', {}],
    ['prefix-${REDIS_PASSWORD}', { REDIS_PASSWORD: 'from-env' }],
    ['""', {}],
  ])('accepts upstream password %s', async (password, env) => {
    expect(await warnings('env-password.yaml', `${HEAD}upstream:\n  password: ${password}\n${READER}`, env)).toEqual([]);
  });

  it('warns about a literal sentinel password', async () => {
    const yaml = `${HEAD}upstream:\n  mode: sentinel\n  password: \${REDIS_PASSWORD}\n  sentinel: { masterName: m, nodes: ["127.0.0.1:26379"], password: spass }\n${READER}`;
    expect(await warnings('literal-sentinel-password.yaml', yaml, { REDIS_PASSWORD: 'from-env' })).toEqual([
      'upstream.sentinel.password: warning: the file contains the sentinels\' password. Read it from the environment instead, as in "password: ${SENTINEL_PASSWORD}"',
    ]);
  });

  it('accepts a sentinel password from the environment', async () => {
    const yaml = `${HEAD}upstream:\n  mode: sentinel\n  sentinel: { masterName: m, nodes: ["127.0.0.1:26379"], password: "\${SENTINEL_PASSWORD}" }\n${READER}`;
    expect(await warnings('env-sentinel-password.yaml', yaml, { SENTINEL_PASSWORD: 'from-env' })).toEqual([]);
  });

  it.each(['0.0.0.0', '10.1.2.3', '"::"'])('warns about metrics on %s', async (host) => {
    const shown = host.replaceAll('"', '');
    expect(await warnings('metrics-open.yaml', `${HEAD}metrics: { host: ${host}, port: 9121 }\n${READER}`)).toEqual([
      `metrics.host: warning: the metrics endpoint on ${shown}:9121 has no authentication and no TLS, ` +
        'and its labels show user names and the commands they run. Bind it to 127.0.0.1 or limit access to it with a firewall',
    ]);
  });

  it.each(['127.0.0.1', 'localhost', '"::1"'])('accepts metrics on %s', async (host) => {
    expect(await warnings('metrics-local.yaml', `${HEAD}metrics: { host: ${host}, port: 9121 }\n${READER}`)).toEqual([]);
  });

  it('treats an escaped reference as literal', async () => {
    const lines = await warnings('escaped-password.yaml', `${HEAD}upstream:\n  password: "$\${NOT_A_VARIABLE}"\n${READER}`);
    expect(lines).toEqual([
      'upstream.password: warning: the file contains the upstream password. Read it from the environment instead, as in "password: ${REDIS_PASSWORD}"',
    ]);
  });

  it('warns about limits below 1 MiB', async () => {
    const yaml = `${HEAD}${READER}limits:\n  maxQueryBuffer: 5000\n  maxBulkLength: 10\n  maxOutputBuffer: 1048575\n`;
    expect(await warnings('tiny-limits.yaml', yaml)).toEqual([
      'limits.maxQueryBuffer: warning: 5000 bytes is below 1 MiB (1048576), the minimum that Redis accepts for its own query buffer and bulk length limits, ' +
        'and a client whose unprocessed requests reach it is disconnected. Raise it to at least 1048576 or remove it to use the default',
      'limits.maxBulkLength: warning: 10 bytes is below 1 MiB (1048576), the minimum that Redis accepts for its own query buffer and bulk length limits, ' +
        'and a request with a longer argument is rejected and its client disconnected. Raise it to at least 1048576 or remove it to use the default',
      'limits.maxOutputBuffer: warning: 1048575 bytes is below 1 MiB (1048576), the minimum that Redis accepts for its own query buffer and bulk length limits, ' +
        'and a client whose unread replies reach it is disconnected. Raise it to at least 1048576 or remove it to use the default',
    ]);
  });

  it('accepts limits of 1 MiB', async () => {
    const yaml = `${HEAD}${READER}limits:\n  maxQueryBuffer: 1048576\n  maxBulkLength: 1048576\n  maxOutputBuffer: 1048576\n`;
    expect(await warnings('floor-limits.yaml', yaml)).toEqual([]);
  });

  it('warns about MONITOR for a key-restricted user', async () => {
    const yaml = `${HEAD}users:\n  watcher: { acl: "on #454349e422f05297191ead13e21d3db520e5abef52055e4964b82fb213f593a1 ~cache:* +get +monitor" }\n`;
    expect(await warnings('monitor.yaml', yaml)).toEqual([
      'users.watcher.acl: warning: the user may run MONITOR, which shows every command of every user with its keys and values, ' +
        'but its key patterns do not allow reading every key. Deny it with -monitor unless the user may read all data',
    ]);
  });

  it.each([
    ['all keys', '~* +get +monitor', []],
    ['read all keys', '%R~* ~cache:* +get +monitor', []],
    ['no MONITOR', '~cache:* +@all -monitor', []],
    ['MONITOR blocked', '~cache:* +get +monitor', [...DEFAULT_BLOCKED_COMMANDS, 'MONITOR']],
  ])('accepts MONITOR rules with %s', async (_case, rules, blocked) => {
    const block = blocked.length > 0 ? `blockCommands: ${JSON.stringify(blocked)}\n` : '';
    const yaml = `${HEAD}${block}users:\n  watcher: { acl: "on #454349e422f05297191ead13e21d3db520e5abef52055e4964b82fb213f593a1 ${rules}" }\n`;
    expect(await warnings('monitor-ok.yaml', yaml)).toEqual([]);
  });

  it('warns about a blocklist without the defaults', async () => {
    expect(await warnings('partial-block.yaml', `${HEAD}blockCommands: [FLUSHALL]\n${READER}`)).toEqual([
      'blockCommands: warning: the list replaces the default blocklist and leaves out 44 of its 45 entries ' +
        '(FLUSHDB, SWAPDB, CONFIG, DEBUG, ...), so every user allowed them by its rules can run them. ' +
        'Add them to the list (DEFAULT_BLOCKED_COMMANDS in src/acl/blocklist.ts lists every entry with its reason) ' +
        'or remove blockCommands to use the default list',
    ]);
  });

  it('names every omitted default up to four', async () => {
    const kept = DEFAULT_BLOCKED_COMMANDS.filter((entry) => entry !== 'SHUTDOWN' && entry !== 'CLIENT|KILL');
    const yaml = `${HEAD}blockCommands: ${JSON.stringify(kept)}\n${READER}`;
    expect(await warnings('two-missing.yaml', yaml)).toEqual([
      'blockCommands: warning: the list replaces the default blocklist and leaves out 2 of its 45 entries ' +
        '(SHUTDOWN, CLIENT|KILL), so every user allowed them by its rules can run them. ' +
        'Add them to the list (DEFAULT_BLOCKED_COMMANDS in src/acl/blocklist.ts lists every entry with its reason) ' +
        'or remove blockCommands to use the default list',
    ]);
  });

  it('accepts defaults covered by a parent', async () => {
    const withoutSubcommands = DEFAULT_BLOCKED_COMMANDS.filter((entry) => !entry.startsWith('ACL|') && !entry.startsWith('CLIENT|'));
    const yaml = `${HEAD}blockCommands: ${JSON.stringify([...withoutSubcommands, 'acl', 'Client', 'KEYS'])}\n${READER}`;
    expect(await warnings('parents.yaml', yaml)).toEqual([]);
  });
});
