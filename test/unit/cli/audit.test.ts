import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { freePort, startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { makeConfigDir, makeIo } from './helpers.js';

const ALL_DANGEROUS = 'FLUSHALL, FLUSHDB, CONFIG, DEBUG, SHUTDOWN, MODULE, KEYS, REPLICAOF, SLAVEOF, MIGRATE, ACL';

async function audit(args: string[], env: NodeJS.ProcessEnv = {}) {
  const io = makeIo(env);
  const code = await main(['audit', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('audit of a weak server', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis({ args: ['--protected-mode', 'no'] });
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('reports every weakness and exits 1', async () => {
    const result = await audit(['--url', `redis://127.0.0.1:${redis.port}`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(`Audit of 127.0.0.1:${redis.port} (Redis 7.0.15, plaintext connection)

HIGH   no-password
       No password: a connection without credentials is logged in as the default user (nopass). Anyone who reaches the port can run commands.
       Fix: Give the default user a long random password (ACL SETUSER default on >PASSWORD, or requirepass), or turn it off (ACL SETUSER default off) and give each application its own user.

HIGH   protected-mode-off
       Protected mode is off: without a password, clients from any host are served.
       Fix: Set protected-mode yes in redis.conf (and CONFIG SET protected-mode yes on the running server).

MEDIUM all-commands-all-keys
       Users allowed every command on every key (+@all ~*): default.
       Fix: Grant each user only the command categories and key patterns it needs (for example ~app:* +@read +@write -@dangerous).

MEDIUM dangerous-commands-allowed
       Users allowed @dangerous or @admin commands (CONFIG, FLUSHALL, DEBUG, ACL, ...), with which they can read requirepass, masterauth and password hashes: default.
       Fix: Add -@dangerous to the rules of every user that does not administer the server.

LOW    no-tls
       No TLS: passwords and data travel in clear text, though only over loopback here.
       Fix: Set tls-port, tls-cert-file, tls-key-file and tls-ca-cert-file, then set port 0 to close the plaintext port.

LOW    dangerous-commands-available
       Dangerous commands are available under their own names: ${ALL_DANGEROUS}.
       Fix: Deny them in the ACL rules (-@dangerous); where no user needs one, also disable it in redis.conf with rename-command NAME "".

6 findings: 2 high, 2 medium, 2 low
`);
  });

  it('prints JSON on request', async () => {
    const result = await audit(['--url', `redis://127.0.0.1:${redis.port}`, '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { address: string; version: string; transport: string; findings: { id: string; severity: string }[]; notChecked: string[] };
    expect(report.address).toBe(`127.0.0.1:${redis.port}`);
    expect(report.version).toBe('7.0.15');
    expect(report.transport).toBe('plaintext');
    expect(report.findings.map((finding) => `${finding.severity} ${finding.id}`)).toEqual([
      'high no-password',
      'high protected-mode-off',
      'medium all-commands-all-keys',
      'medium dangerous-commands-allowed',
      'low no-tls',
      'low dangerous-commands-available',
    ]);
    expect(report.notChecked).toEqual([]);
  });
});

describe('audit of a hardened server', () => {
  const dir = makeConfigDir();
  let redis: RedisServer;
  let cert: string;
  let key: string;

  beforeAll(async () => {
    cert = path.join(dir.dir, 'redis.crt');
    key = path.join(dir.dir, 'redis.key');
    const openssl = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
    ], { encoding: 'utf8' });
    expect(openssl.status).toBe(0);
    const tlsPort = await freePort();
    const renamed = ['FLUSHALL', 'FLUSHDB', 'DEBUG', 'SHUTDOWN', 'MODULE', 'KEYS', 'REPLICAOF', 'SLAVEOF', 'MIGRATE'].flatMap((name) => ['--rename-command', name, '']);
    redis = await startRedis({
      port: tlsPort,
      args: [
        '--port', '0', '--tls-port', String(tlsPort), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert,
        '--user', 'default', 'off',
        '--user', 'auditor', 'on', '>audit-pw', '+ping', '+info', '+config|get', '+acl|list', '+command|info',
        '--user', 'viewer', 'on', '>view-pw', '+ping', '+command|info',
        '--user', 'app', 'on', '>app-pw', '~app:*', '+@read', '+@write', '-@dangerous',
        ...renamed,
      ],
    });
  });
  afterAll(async () => {
    await redis.stop();
    dir.remove();
  });

  it('reports no high finding and exits 0', async () => {
    const result = await audit(['--url', `rediss://auditor:audit-pw@127.0.0.1:${redis.port}`, '--ca', cert, '--cert', cert, '--key', key]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`Audit of 127.0.0.1:${redis.port} (Redis 7.0.15, TLS connection)

MEDIUM dangerous-commands-allowed
       Users allowed @dangerous or @admin commands (CONFIG, FLUSHALL, DEBUG, ACL, ...), with which they can read requirepass, masterauth and password hashes: auditor.
       Fix: Add -@dangerous to the rules of every user that does not administer the server.

LOW    dangerous-commands-available
       Dangerous commands are available under their own names: CONFIG, ACL.
       Fix: Deny them in the ACL rules (-@dangerous); where no user needs one, also disable it in redis.conf with rename-command NAME "".

2 findings: 0 high, 1 medium, 1 low
`);
    expect(result.stdout).not.toContain('audit-pw');
  });

  it('lists what a limited user cannot check', async () => {
    const result = await audit(['--url', `rediss://viewer@127.0.0.1:${redis.port}`, '--ca', cert, '--cert', cert, '--key', key], { REDISCLI_AUTH: 'view-pw' });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`Audit of 127.0.0.1:${redis.port} (Redis version unknown, TLS connection)

LOW    dangerous-commands-available
       Dangerous commands are available under their own names: CONFIG, ACL.
       Fix: Deny them in the ACL rules (-@dangerous); where no user needs one, also disable it in redis.conf with rename-command NAME "".

Not checked:
  - Redis version: INFO was rejected: NOPERM this user has no permissions to run the 'info' command
  - settings protected-mode, bind, port, tls-port, enable-debug-command, enable-module-command, enable-protected-configs: CONFIG GET was rejected: NOPERM this user has no permissions to run the 'config|get' command
  - users and their ACL rules: ACL LIST was rejected: NOPERM this user has no permissions to run the 'acl|list' command

1 findings: 0 high, 0 medium, 1 low
`);
  });

  it('checks anonymous access without credentials', async () => {
    const result = await audit(['--url', `rediss://127.0.0.1:${redis.port}`, '--ca', cert, '--cert', cert, '--key', key]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`respguard audit: only anonymous access was checked, because 127.0.0.1:${redis.port} requires a password: give one in the URL or in REDISCLI_AUTH\n`);
    expect(result.stdout).toBe(`Audit of 127.0.0.1:${redis.port} (Redis version unknown, TLS connection)

No findings.

Not checked:
  - everything but anonymous access: the server requires a password; give one in the URL or in REDISCLI_AUTH

0 findings: 0 high, 0 medium, 0 low
`);
  });

  it('exits 3 on a wrong password', async () => {
    const result = await audit(['--url', `rediss://auditor:not-the-pw@127.0.0.1:${redis.port}`, '--ca', cert, '--cert', cert, '--key', key]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`respguard audit: authentication at 127.0.0.1:${redis.port} failed: WRONGPASS invalid username-password pair or user is disabled.\n`);
  });

  it('exits 3 on an untrusted certificate', async () => {
    const result = await audit(['--url', `rediss://auditor:audit-pw@127.0.0.1:${redis.port}`]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`respguard audit: cannot connect to 127.0.0.1:${redis.port}: self-signed certificate\n`);
  });
});

describe('audit usage', () => {
  it('exits 3 when nothing listens', async () => {
    const port = await freePort();
    const result = await audit(['--url', `redis://:secret-pw@127.0.0.1:${port}`]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`respguard audit: cannot connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });

  it.each([
    ['http://127.0.0.1:6379', 'unsupported URL scheme "http:": use redis:// or rediss:// (TLS)'],
    ['127.0.0.1:6379', 'invalid URL: expected redis://[USER:PASSWORD@]HOST:PORT or rediss://... for TLS'],
    ['not a url', 'invalid URL: expected redis://[USER:PASSWORD@]HOST:PORT or rediss://... for TLS'],
  ])('rejects %s', async (url, message) => {
    const result = await audit(['--url', url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`respguard audit: ${message}\nRun "respguard audit --help" for usage.\n`);
  });
});
