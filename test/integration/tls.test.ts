/**
 * TLS termination through the whole proxy, with certificates made by openssl at test time.
 * Covered: redis-cli --tls, ioredis and node-redis over TLS, and mutual TLS that logs in as the
 * bound user. Also the rejections (no certificate, another CA, expired, a password without the
 * required certificate, source addresses), rotation under load, and protected mode at start.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { CertificateDir, commonName, type IssuedCertificate } from '../helpers/certificates.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { freePort, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { makeIo } from '../unit/cli/helpers.js';

const execFileAsync = promisify(execFile);
const certificates = new CertificateDir();
let liveDir: string;
let ca: IssuedCertificate;
let server: IssuedCertificate;
let rotatedServer: IssuedCertificate;
let billingClient: IssuedCertificate;
let spiffeClient: IssuedCertificate;
let foreignClient: IssuedCertificate;
let expiredClient: IssuedCertificate;
let upstream: RedisServer;
let proxy: TestProxy;
const ports = { tls: 0, mtls: 0, request: 0, restricted: 0 };

beforeAll(async () => {
  ca = await certificates.createCa('ca');
  const otherCa = await certificates.createCa('other-ca');
  server = await certificates.issueServer(ca);
  rotatedServer = await certificates.issueServer(ca, 'rotated-server');
  billingClient = await certificates.issue(ca, { name: 'billing', subject: commonName('billing-api') });
  spiffeClient = await certificates.issue(ca, { name: 'spiffe', subject: commonName('pod-7f9c'), altNames: [['URI', 'spiffe://prod/billing']] });
  foreignClient = await certificates.issue(otherCa, { name: 'foreign', subject: commonName('billing-api') });
  expiredClient = await certificates.issue(ca, { name: 'expired', subject: commonName('billing-api'), days: -1 });

  // The proxy reads its certificate from here, so that the rotation test can replace it.
  liveDir = mkdtempSync(path.join(tmpdir(), 'respguard-live-tls-'));
  writeFileSync(path.join(liveDir, 'server.crt'), server.cert);
  writeFileSync(path.join(liveDir, 'server.key'), server.key);

  for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await freePort();
  const tlsFiles = `cert: ${path.join(liveDir, 'server.crt')}, key: ${path.join(liveDir, 'server.key')}, ca: ${ca.certFile}`;
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, {
    listenersYaml:
      `  - { host: 127.0.0.1, port: ${ports.tls}, tls: { ${tlsFiles} } }\n` +
      `  - { host: 127.0.0.1, port: ${ports.mtls}, tls: { ${tlsFiles}, clientAuth: require } }\n` +
      `  - { host: 127.0.0.1, port: ${ports.request}, tls: { ${tlsFiles}, clientAuth: request } }\n` +
      `  - { host: 127.0.0.1, port: ${ports.restricted}, sources: [10.0.0.0/8] }\n`,
    users: {
      writer: 'on >w-pass ~* &* +@all -@dangerous',
      billing: {
        acl: 'on >billpw ~billing:* +@read +@write +ping +acl|whoami +reset',
        certificates: ['CN=billing-api', 'URI:spiffe://prod/billing'],
        requireCertificate: true,
      },
      office: { acl: 'on >office-pass ~* +@all', sources: ['10.0.0.0/8'] },
      local: { acl: 'on >local-pass ~* +@all', sources: ['127.0.0.0/8', '::1/128'] },
    },
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
  certificates.remove();
  if (liveDir) rmSync(liveDir, { recursive: true, force: true });
});

/** Runs redis-cli and returns its first output line (standard output, else standard error). */
async function redisCli(args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync('redis-cli', ['-h', '127.0.0.1', '--no-auth-warning', ...args], { timeout: 10_000 });
    return (stdout.trim() || stderr.trim()).split('\n')[0]!;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    return ((failure.stdout ?? '').trim() || (failure.stderr ?? '').trim() || failure.message).split('\n')[0]!;
  }
}

const tlsCli = (port: number, ...args: string[]): Promise<string> => redisCli(['--tls', '--cacert', ca.certFile, '-p', String(port), ...args]);
const withCertificate = (certificate: IssuedCertificate): string[] => ['--cert', certificate.certFile, '--key', certificate.keyFile];

function auditLines(event: string): Record<string, unknown>[] {
  return proxy.logs.lines.filter((line) => line.event === event);
}

async function waitForAudit(event: string, match: Record<string, unknown>): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const line = auditLines(event).find((entry) => Object.entries(match).every(([key, value]) => entry[key] === value));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no ${event} line matching ${JSON.stringify(match)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('redis-cli --tls', () => {
  it('runs commands after AUTH', async () => {
    expect(await tlsCli(ports.tls, '--user', 'writer', '--pass', 'w-pass', 'PING')).toBe('PONG');
    expect(await tlsCli(ports.tls, '--user', 'writer', '--pass', 'w-pass', 'SET', 'cache:tls', 'v')).toBe('OK');
    expect(await tlsCli(ports.tls, '--user', 'writer', '--pass', 'w-pass', 'GET', 'cache:tls')).toBe('v');
  });

  it('requires AUTH without a certificate', async () => {
    expect(await tlsCli(ports.tls, 'GET', 'cache:tls')).toBe('NOAUTH Authentication required.');
  });

  it('logs in by certificate CN', async () => {
    expect(await tlsCli(ports.mtls, ...withCertificate(billingClient), 'ACL', 'WHOAMI')).toBe('billing');
    expect(await tlsCli(ports.mtls, ...withCertificate(billingClient), 'SET', 'billing:x', '1')).toBe('OK');
    expect(await tlsCli(ports.mtls, ...withCertificate(billingClient), 'GET', 'cache:tls')).toBe(
      'NOPERM this user has no permissions to access one of the keys used as arguments',
    );
  });

  it('logs in by SPIFFE id', async () => {
    expect(await tlsCli(ports.mtls, ...withCertificate(spiffeClient), 'ACL', 'WHOAMI')).toBe('billing');
  });

  it('logs in by certificate where optional', async () => {
    expect(await tlsCli(ports.request, ...withCertificate(billingClient), 'ACL', 'WHOAMI')).toBe('billing');
    expect(await tlsCli(ports.request, ...withCertificate(foreignClient), 'GET', 'x')).toBe('NOAUTH Authentication required.');
  });

  it.each([
    ['no certificate', 'none', 'NO_CLIENT_CERTIFICATE'],
    ['another CA', 'foreign', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['an expired certificate', 'expired', 'CERT_HAS_EXPIRED'],
  ] as const)('rejects %s when required', async (_case, which, reason) => {
    const certificate = { none: undefined, foreign: foreignClient, expired: expiredClient }[which];
    const output = await tlsCli(ports.mtls, ...(certificate ? withCertificate(certificate) : []), '--user', 'writer', '--pass', 'w-pass', 'PING');
    expect(output).not.toContain('PONG');
    const line = await waitForAudit('tls_handshake_failed', { reason });
    expect(line).toMatchObject({ level: 40, listener: `127.0.0.1:${ports.mtls}`, msg: 'TLS handshake failed' });
  });
});

describe('requireCertificate', () => {
  it('rejects the password alone', async () => {
    const client = await RawClient.connect(proxy.port);
    try {
      expect(await client.call(['AUTH', 'billing', 'billpw'])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
      expect(await client.call(['HELLO', '3', 'AUTH', 'billing', 'billpw'])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    } finally {
      client.close();
    }
    const line = await waitForAudit('auth_failed', { user: 'billing', reason: 'client certificate required' });
    expect(line.remote).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('rejects the password with a foreign certificate', async () => {
    // redis-cli reports the failed AUTH on standard error and then runs the command unauthenticated.
    expect(await tlsCli(ports.request, ...withCertificate(foreignClient), '--user', 'billing', '--pass', 'billpw', 'PING')).toBe('NOAUTH Authentication required.');
    await waitForAudit('auth_failed', { user: 'billing', reason: 'client certificate required', listener: `127.0.0.1:${ports.request}` });
  });

  it('accepts the password with the certificate', async () => {
    expect(await tlsCli(ports.request, ...withCertificate(billingClient), '--user', 'billing', '--pass', 'billpw', 'ACL', 'WHOAMI')).toBe('billing');
  });
});

describe('sources', () => {
  it('rejects a user outside its sources', async () => {
    const client = await RawClient.connect(proxy.port);
    try {
      expect(await client.call(['AUTH', 'office', 'office-pass'])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
      expect(await client.call(['AUTH', 'local', 'local-pass'])).toBe('+OK\r\n');
    } finally {
      client.close();
    }
    await waitForAudit('auth_failed', { user: 'office', reason: 'source address not allowed' });
  });

  it('disconnects at a listener', async () => {
    const client = await RawClient.connect(ports.restricted);
    client.send(['PING']);
    expect(await client.reply()).toBe('CLOSED');
    const line = await waitForAudit('limit', { reason: 'source_not_allowed', listener: `127.0.0.1:${ports.restricted}` });
    expect(line.remote).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});

describe('client libraries over TLS', () => {
  it('runs ioredis with a password', async () => {
    const client = new IORedis({ host: '127.0.0.1', port: ports.tls, username: 'writer', password: 'w-pass', tls: { ca: ca.cert }, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      expect(await client.set('cache:io', 'tls')).toBe('OK');
      expect(await client.get('cache:io')).toBe('tls');
    } finally {
      client.disconnect();
    }
  });

  it('runs ioredis with a certificate', async () => {
    const client = new IORedis({
      host: '127.0.0.1',
      port: ports.mtls,
      tls: { ca: ca.cert, cert: billingClient.cert, key: billingClient.key },
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      expect(await client.call('ACL', 'WHOAMI')).toBe('billing');
      expect(await client.call('RESET')).toBe('RESET');
      expect(await client.call('ACL', 'WHOAMI')).toBe('billing');
      await expect(client.get('cache:io')).rejects.toThrow('NOPERM this user has no permissions to access one of the keys used as arguments');
    } finally {
      client.disconnect();
    }
  });

  it('runs node-redis with a password', async () => {
    const client = createClient({
      socket: { host: '127.0.0.1', port: ports.tls, tls: true, ca: ca.cert, reconnectStrategy: false },
      username: 'writer',
      password: 'w-pass',
    });
    await client.connect();
    try {
      expect(await client.set('cache:node', 'tls')).toBe('OK');
      expect(await client.get('cache:node')).toBe('tls');
    } finally {
      client.destroy();
    }
  });

  it('runs node-redis with a certificate', async () => {
    const client = createClient({
      socket: { host: '127.0.0.1', port: ports.mtls, tls: true, ca: ca.cert, cert: billingClient.cert, key: billingClient.key, reconnectStrategy: false },
    });
    await client.connect();
    try {
      expect(await client.sendCommand(['ACL', 'WHOAMI'])).toBe('billing');
      expect(await client.set('billing:node', '1')).toBe('OK');
    } finally {
      client.destroy();
    }
  });
});

describe('certificate rotation', () => {
  /** Fingerprint of the certificate that a new handshake on the TLS listener gets. */
  async function servedFingerprint(): Promise<string> {
    const socket = tls.connect({ host: '127.0.0.1', port: ports.tls, ca: ca.cert, servername: 'localhost' });
    try {
      await new Promise((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      return socket.getPeerX509Certificate()!.fingerprint256;
    } finally {
      socket.destroy();
    }
  }

  it('keeps connections under load', async () => {
    const oldFingerprint = new X509Certificate(server.cert).fingerprint256;
    const newFingerprint = new X509Certificate(rotatedServer.cert).fingerprint256;
    expect(await servedFingerprint()).toBe(oldFingerprint);

    const clients = Array.from({ length: 6 }, () =>
      new IORedis({ host: '127.0.0.1', port: ports.tls, username: 'writer', password: 'w-pass', tls: { ca: ca.cert }, maxRetriesPerRequest: 0, retryStrategy: () => null }),
    );
    const closes: string[] = [];
    clients.forEach((client, i) => client.on('close', () => closes.push(`client ${i}`)));
    let running = true;
    const counts = clients.map(() => 0);
    const loops = clients.map(async (client, i) => {
      await client.del(`load:${i}`);
      while (running) {
        await client.incr(`load:${i}`);
        counts[i]! += 1;
      }
    });

    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const [name, content] of [['server.key', rotatedServer.key], ['server.crt', rotatedServer.cert]] as const) {
      writeFileSync(path.join(liveDir, `${name}.tmp`), content);
      renameSync(path.join(liveDir, `${name}.tmp`), path.join(liveDir, name));
    }
    const deadline = Date.now() + 5000;
    while ((await servedFingerprint()) !== newFingerprint && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const countsAtRotation = [...counts];
    await new Promise((resolve) => setTimeout(resolve, 200));
    running = false;
    await Promise.all(loops);

    expect(await servedFingerprint()).toBe(newFingerprint);
    for (const [i, client] of clients.entries()) {
      expect(counts[i]).toBeGreaterThan(countsAtRotation[i]!);
      expect(await client.get(`load:${i}`)).toBe(String(counts[i]));
    }
    expect(closes).toEqual([]);
    for (const client of clients) client.disconnect();
  });
});

describe('protected mode', () => {
  it('stops a plaintext listener on 0.0.0.0', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'respguard-protected-'));
    try {
      const file = path.join(dir, 'respguard.yaml');
      const port = await freePort();
      writeFileSync(file, `listeners:\n  - { host: 0.0.0.0, port: ${port} }\nupstream: { host: 127.0.0.1, port: ${upstream.port} }\nusers:\n  app: { acl: "on >x ~* +@all" }\n`);
      const io = makeIo();
      expect(await main(['--config', file], io)).toBe(1);
      expect(io.stderrText()).toBe(
        `${file}: listeners[0]: plaintext listener on 0.0.0.0:${port} sends passwords and data unencrypted over the network: ` +
          'add tls (cert and key), bind host to 127.0.0.1, or set allowPlaintext: true\n',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
