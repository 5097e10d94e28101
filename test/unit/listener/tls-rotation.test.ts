/**
 * Certificate rotation on a running TLS listener: explicit reloads, directory watching and the
 * content poll. New handshakes must see the new certificate, established connections must keep
 * working, and broken files must leave the certificate in use.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ListenerTlsConfig } from '../../../src/config/types.js';
import type { RotationOptions } from '../../../src/listener/tls-rotation.js';
import { CertificateDir, commonName, type IssuedCertificate } from '../../helpers/certificates.js';
import { connected, connectTls, echo, startEchoListener, waitFor, type EchoListener } from './helpers.js';

const certificates = new CertificateDir();
let ca: IssuedCertificate;
let otherCa: IssuedCertificate;
let first: IssuedCertificate;
let second: IssuedCertificate;
let expired: IssuedCertificate;
let liveDir: string;
let echoServer: EchoListener | null = null;

const NO_WATCH: RotationOptions = { watchDirectories: false, debounceMs: 50, pollIntervalMs: 0 };

beforeAll(async () => {
  ca = await certificates.createCa('ca');
  otherCa = await certificates.createCa('other-ca');
  first = await certificates.issueServer(ca, 'first');
  second = await certificates.issueServer(ca, 'second');
  expired = await certificates.issueServer(ca, 'expired', { days: -1 });
});

afterAll(() => certificates.remove());

beforeEach(() => {
  liveDir = mkdtempSync(path.join(tmpdir(), 'respguard-live-tls-'));
  install({ cert: first.cert, key: first.key, ca: ca.cert });
});

afterEach(async () => {
  await echoServer?.close();
  echoServer = null;
  rmSync(liveDir, { recursive: true, force: true });
});

const live = (name: string): string => path.join(liveDir, name);
const fingerprint = (certificate: IssuedCertificate): string => new X509Certificate(certificate.cert).fingerprint256;

/** Replaces the live files the way rotation tools do: write a temporary file, then rename it over the old one. */
const LIVE_FILE_NAMES = { cert: 'server.crt', key: 'server.key', ca: 'ca.crt' } as const;

function install(files: { cert?: Buffer | string; key?: Buffer | string; ca?: Buffer | string }): void {
  for (const [field, content] of Object.entries(files) as [keyof typeof LIVE_FILE_NAMES, Buffer | string | undefined][]) {
    if (content === undefined) continue;
    const name = LIVE_FILE_NAMES[field];
    writeFileSync(live(`${name}.tmp`), content);
    renameSync(live(`${name}.tmp`), live(name));
  }
}

function tlsConfig(overrides: Partial<ListenerTlsConfig> = {}): ListenerTlsConfig {
  return { cert: live('server.crt'), key: live('server.key'), ca: live('ca.crt'), clientAuth: 'none', minVersion: 'TLSv1.2', ...overrides };
}

async function start(rotation: RotationOptions, overrides: Partial<ListenerTlsConfig> = {}): Promise<EchoListener> {
  echoServer = await startEchoListener({ host: '127.0.0.1', tls: tlsConfig(overrides), allowPlaintext: false }, { rotation });
  return echoServer;
}

/** Fingerprint of the certificate that a new handshake gets. */
async function servedFingerprint(port: number): Promise<string> {
  const outcome = connected(await connectTls(port, { ca: ca.cert }));
  outcome.socket.destroy();
  return outcome.fingerprint;
}

function reloadLines(listener: EchoListener): Record<string, unknown>[] {
  return listener.logs.lines.filter((line) => line.event === 'tls_reload');
}

describe('reloadTls', () => {
  it('serves the new certificate', async () => {
    const listener = await start(NO_WATCH);
    const established = connected(await connectTls(listener.port, { ca: ca.cert }));
    expect(established.fingerprint).toBe(fingerprint(first));

    install({ cert: second.cert, key: second.key });
    await listener.listener.reloadTls();

    expect(await servedFingerprint(listener.port)).toBe(fingerprint(second));
    expect(await echo(established.socket, 'still here')).toBe('still here');
    established.socket.destroy();
    expect(reloadLines(listener)).toMatchObject([
      { level: 30, trigger: 'request', result: 'ok', fingerprint256: fingerprint(second), msg: 'TLS certificate reloaded; new handshakes use it' },
    ]);
  });

  it('reports unchanged files', async () => {
    const listener = await start(NO_WATCH);
    await listener.listener.reloadTls();
    expect(reloadLines(listener)).toMatchObject([{ trigger: 'request', result: 'unchanged', msg: 'TLS files unchanged' }]);
    expect(await servedFingerprint(listener.port)).toBe(fingerprint(first));
  });

  it.each([
    ['a key of another pair', () => ({ key: second.key }), 'tls.key {dir}/server.key does not belong to the certificate in tls.cert {dir}/server.crt: install the key of the same pair'],
    ['an expired certificate', () => ({ cert: expired.cert, key: expired.key }), /^tls\.cert \{dir\}\/server\.crt expired on .+ GMT: install a renewed certificate$/],
    ['a truncated certificate', () => ({ cert: second.cert.subarray(0, 200) }), /^tls\.cert \{dir\}\/server\.crt is not a PEM certificate: /],
    ['an empty key', () => ({ key: '' }), /^tls\.key \{dir\}\/server\.key is not a readable private key \(PEM, unencrypted\): /],
    ['a CA file that is not PEM', () => ({ ca: 'garbage' }), /^tls\.ca \{dir\}\/ca\.crt is not a PEM certificate: /],
  ])('rejects %s', async (_case, files, message) => {
    const listener = await start(NO_WATCH);
    install(files());
    const error = (await listener.listener.reloadTls().catch((caught: unknown) => caught)) as Error;
    const text = error.message.replaceAll(liveDir, '{dir}');
    if (typeof message === 'string') expect(text).toBe(message);
    else expect(text).toMatch(message);

    expect(await servedFingerprint(listener.port)).toBe(fingerprint(first));
    const lines = reloadLines(listener);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, trigger: 'request', result: 'rejected', error: error.message, msg: 'new TLS files rejected; the certificate in use stays' });
  });

  it('rejects a deleted file', async () => {
    const listener = await start(NO_WATCH);
    rmSync(live('server.key'));
    await expect(listener.listener.reloadTls()).rejects.toThrow(`cannot read tls.key ${live('server.key')}: ENOENT`);
    expect(await servedFingerprint(listener.port)).toBe(fingerprint(first));
  });

  it('rotates the client CA', async () => {
    const listener = await start(NO_WATCH, { clientAuth: 'require' });
    const oldClient = await certificates.issue(ca, { name: 'old-client', subject: commonName('app') });
    const newClient = await certificates.issue(otherCa, { name: 'new-client', subject: commonName('app') });
    expect((await connectTls(listener.port, { ca: ca.cert, cert: oldClient.cert, key: oldClient.key })).ok).toBe(true);

    install({ ca: otherCa.cert });
    await listener.listener.reloadTls();

    expect(await connectTls(listener.port, { ca: ca.cert, cert: oldClient.cert, key: oldClient.key })).toEqual({ ok: false, error: 'closed by the server' });
    const outcome = await connectTls(listener.port, { ca: ca.cert, cert: newClient.cert, key: newClient.key });
    expect(outcome.ok).toBe(true);
    if (outcome.ok) outcome.socket.destroy();
  });
});

describe('automatic reload', () => {
  it('follows a file change', async () => {
    const listener = await start({ watchDirectories: true, debounceMs: 50, pollIntervalMs: 0 });
    install({ key: second.key, cert: second.cert });
    await waitFor(async () => (await servedFingerprint(listener.port)) === fingerprint(second));
    expect(reloadLines(listener)).toMatchObject([{ trigger: 'file change', result: 'ok', fingerprint256: fingerprint(second) }]);
  });

  it('logs broken files once', async () => {
    const listener = await start({ watchDirectories: true, debounceMs: 50, pollIntervalMs: 100 });
    install({ cert: expired.cert, key: expired.key });
    await waitFor(() => reloadLines(listener).length === 1);
    writeFileSync(live('unrelated.txt'), 'an event in the watched directory');
    await new Promise((resolve) => setTimeout(resolve, 400));

    expect(reloadLines(listener)).toMatchObject([{ level: 50, result: 'rejected' }]);
    expect(await servedFingerprint(listener.port)).toBe(fingerprint(first));

    install({ cert: second.cert, key: second.key });
    await waitFor(async () => (await servedFingerprint(listener.port)) === fingerprint(second));
    expect(reloadLines(listener).map((line) => line.result)).toEqual(['rejected', 'ok']);
  });

  it('polls without a watch', async () => {
    const listener = await start({ watchDirectories: false, debounceMs: 50, pollIntervalMs: 100 });
    install({ cert: second.cert, key: second.key });
    await waitFor(async () => (await servedFingerprint(listener.port)) === fingerprint(second));
    expect(reloadLines(listener)).toMatchObject([{ trigger: 'poll', result: 'ok' }]);
  });

  it('stops after close', async () => {
    const listener = await start({ watchDirectories: true, debounceMs: 20, pollIntervalMs: 50 });
    await listener.close();
    echoServer = null;
    install({ cert: second.cert, key: second.key });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reloadLines(listener)).toEqual([]);
  });
});
