/** Listeners with real sockets: source allowlists at accept, client certificate checks, TLS versions and ciphers, start-up errors. */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListenerTlsConfig } from '../../../src/config/types.js';
import { RespguardError } from '../../../src/errors.js';
import { startListener } from '../../../src/listener/listener.js';
import { createLoggingObserver } from '../../../src/observability/observer.js';
import { createLogger } from '../../../src/observability/logger.js';
import { CertificateDir, commonName, type IssuedCertificate } from '../../helpers/certificates.js';
import { connected, connectTls, echo, startEchoListener, waitFor } from './helpers.js';

const certificates = new CertificateDir();
let ca: IssuedCertificate;
let server: IssuedCertificate;
let client: IssuedCertificate;
let foreignClient: IssuedCertificate;
let expiredClient: IssuedCertificate;

beforeAll(async () => {
  ca = await certificates.createCa('ca');
  const otherCa = await certificates.createCa('other-ca');
  server = await certificates.issueServer(ca);
  client = await certificates.issue(ca, { name: 'client', subject: commonName('billing-api') });
  foreignClient = await certificates.issue(otherCa, { name: 'foreign', subject: commonName('billing-api') });
  expiredClient = await certificates.issue(ca, { name: 'expired', subject: commonName('billing-api'), days: -1 });
});

afterAll(() => certificates.remove());

function tlsConfig(overrides: Partial<ListenerTlsConfig> = {}): ListenerTlsConfig {
  return { cert: server.certFile, key: server.keyFile, ca: ca.certFile, clientAuth: 'none', minVersion: 'TLSv1.2', ...overrides };
}

/** Connects over plain TCP, sends bytes at once, and resolves with the first bytes that came back, or '' after a close. */
async function plainExchange(port: number, host = '127.0.0.1'): Promise<string> {
  const socket = net.connect({ host, port });
  const chunks: Buffer[] = [];
  socket.on('error', () => {});
  socket.write('PING\r\n');
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      socket.destroy();
      resolve();
    });
    socket.once('close', () => resolve());
    setTimeout(() => {
      socket.destroy();
      resolve();
    }, 2000);
  });
  return Buffer.concat(chunks).toString();
}

describe('listener sources', () => {
  it('disconnects a client outside', async () => {
    const echoServer = await startEchoListener({ host: '127.0.0.1', sources: ['10.0.0.0/8'], allowPlaintext: false });
    try {
      expect(await plainExchange(echoServer.port)).toBe('');
      expect(echoServer.accepted).toHaveLength(0);
      expect(echoServer.events.disconnects).toHaveLength(1);
      expect(echoServer.events.disconnects[0]!.reason).toBe('source_not_allowed');
      expect(echoServer.events.disconnects[0]!.source).toMatchObject({ listener: '127.0.0.1:0', session: 0 });
      expect(echoServer.events.disconnects[0]!.source!.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await echoServer.close();
    }
  });

  it('accepts a client inside', async () => {
    const echoServer = await startEchoListener({ host: '127.0.0.1', sources: ['10.0.0.0/8', '127.0.0.0/8'], allowPlaintext: false });
    try {
      expect(await plainExchange(echoServer.port)).toBe('PING\r\n');
      expect(echoServer.accepted).toHaveLength(1);
      expect(echoServer.events.disconnects).toEqual([]);
    } finally {
      await echoServer.close();
    }
  });

  it('matches IPv4-mapped addresses', async () => {
    const echoServer = await startEchoListener({ host: '::ffff:127.0.0.1', sources: ['127.0.0.0/8'], allowPlaintext: false });
    try {
      expect(await plainExchange(echoServer.port)).toBe('PING\r\n');
      expect(echoServer.accepted[0]!.remoteAddress).toBe('::ffff:127.0.0.1');
    } finally {
      await echoServer.close();
    }
  });

  it('disconnects before the TLS handshake', async () => {
    const echoServer = await startEchoListener({ host: '127.0.0.1', tls: tlsConfig(), sources: ['10.0.0.0/8'], allowPlaintext: false });
    try {
      const outcome = await connectTls(echoServer.port, { ca: ca.cert });
      expect(outcome.ok).toBe(false);
      expect(echoServer.accepted).toHaveLength(0);
      expect(echoServer.events.disconnects.map((event) => event.reason)).toEqual(['source_not_allowed']);
      expect(echoServer.events.handshakeFailures).toEqual([]);
    } finally {
      await echoServer.close();
    }
  });
});

describe('listener client certificates', () => {
  it('accepts a verified certificate when required', async () => {
    const echoServer = await startEchoListener({ host: '127.0.0.1', tls: tlsConfig({ clientAuth: 'require' }), allowPlaintext: false });
    try {
      const outcome = await connectTls(echoServer.port, { ca: ca.cert, cert: client.cert, key: client.key });
      expect(outcome.ok).toBe(true);
      if (outcome.ok) outcome.socket.destroy();
      expect(echoServer.events.handshakeFailures).toEqual([]);
    } finally {
      await echoServer.close();
    }
  });

  it.each([
    ['no certificate', 'none', 'NO_CLIENT_CERTIFICATE'],
    ['a certificate of another CA', 'foreign', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['an expired certificate', 'expired', 'CERT_HAS_EXPIRED'],
  ] as const)('rejects %s when required', async (_case, which, reason) => {
    const echoServer = await startEchoListener({ host: '127.0.0.1', tls: tlsConfig({ clientAuth: 'require' }), allowPlaintext: false });
    try {
      const certificate = { none: undefined, foreign: foreignClient, expired: expiredClient }[which];
      const outcome = await connectTls(echoServer.port, { ca: ca.cert, cert: certificate?.cert, key: certificate?.key });
      expect(outcome.ok).toBe(false);
      expect(echoServer.accepted).toHaveLength(0);
      await waitFor(() => echoServer.events.handshakeFailures.length === 1);
      expect(echoServer.events.handshakeFailures[0]!.reason).toBe(reason);
      expect(echoServer.events.handshakeFailures[0]!.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await echoServer.close();
    }
  });

  it('accepts unverified certificates when requested', async () => {
    const echoServer = await startEchoListener({ host: '127.0.0.1', tls: tlsConfig({ clientAuth: 'request' }), allowPlaintext: false });
    try {
      for (const certificate of [undefined, foreignClient, expiredClient, client]) {
        const outcome = await connectTls(echoServer.port, { ca: ca.cert, cert: certificate?.cert, key: certificate?.key });
        expect(outcome.ok).toBe(true);
        if (outcome.ok) outcome.socket.destroy();
      }
      expect(echoServer.accepted.map((socket) => (socket as import('node:tls').TLSSocket).authorized)).toEqual([false, false, false, true]);
    } finally {
      await echoServer.close();
    }
  });

  it('logs a failed handshake', async () => {
    const echoServer = await startEchoListener({ host: '127.0.0.1', tls: tlsConfig(), allowPlaintext: false });
    try {
      expect(await plainExchange(echoServer.port)).not.toContain('PING');
      await waitFor(() => echoServer.events.handshakeFailures.length === 1);
      expect(echoServer.events.handshakeFailures[0]!.reason).toBe('ERR_SSL_WRONG_VERSION_NUMBER');
      expect(echoServer.events.handshakeFailures[0]!.listener).toBe('127.0.0.1:0');
    } finally {
      await echoServer.close();
    }
  });
});

describe('listener TLS versions and ciphers', () => {
  it('accepts TLS 1.2 by default', async () => {
    const echoServer = await startEchoListener({ host: '127.0.0.1', tls: tlsConfig(), allowPlaintext: false });
    try {
      const outcome = connected(await connectTls(echoServer.port, { ca: ca.cert, maxVersion: 'TLSv1.2' }));
      expect(outcome.protocol).toBe('TLSv1.2');
      outcome.socket.destroy();
    } finally {
      await echoServer.close();
    }
  });

  it('rejects TLS 1.1 by default', async () => {
    const echoServer = await startEchoListener({ host: '127.0.0.1', tls: tlsConfig(), allowPlaintext: false });
    try {
      const outcome = await connectTls(echoServer.port, { ca: ca.cert, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
      expect(outcome.ok).toBe(false);
      await waitFor(() => echoServer.events.handshakeFailures.length === 1);
      expect(echoServer.events.handshakeFailures[0]!.reason).toBe('ERR_SSL_UNSUPPORTED_PROTOCOL');
    } finally {
      await echoServer.close();
    }
  });

  it('rejects TLS 1.2 under minVersion TLSv1.3', async () => {
    const echoServer = await startEchoListener({ host: '127.0.0.1', tls: tlsConfig({ minVersion: 'TLSv1.3' }), allowPlaintext: false });
    try {
      expect(await connectTls(echoServer.port, { ca: ca.cert, maxVersion: 'TLSv1.2' })).toEqual({ ok: false, error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
      const outcome = connected(await connectTls(echoServer.port, { ca: ca.cert }));
      expect(outcome.protocol).toBe('TLSv1.3');
      outcome.socket.destroy();
    } finally {
      await echoServer.close();
    }
  });

  it('offers only the configured ciphers', async () => {
    const ciphers = 'ECDHE-ECDSA-AES128-GCM-SHA256';
    const echoServer = await startEchoListener({ host: '127.0.0.1', tls: tlsConfig({ ciphers }), allowPlaintext: false });
    try {
      const outcome = connected(await connectTls(echoServer.port, { ca: ca.cert, maxVersion: 'TLSv1.2' }));
      expect(outcome.cipher).toBe(ciphers);
      outcome.socket.destroy();
      const other = await connectTls(echoServer.port, { ca: ca.cert, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
      expect(other).toEqual({ ok: false, error: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' });
    } finally {
      await echoServer.close();
    }
  });

  it('keeps plaintext sockets plain', async () => {
    const echoServer = await startEchoListener({ host: '127.0.0.1', allowPlaintext: false });
    try {
      const socket = net.connect({ host: '127.0.0.1', port: echoServer.port });
      await new Promise((resolve) => socket.once('connect', resolve));
      expect(await echo(socket, 'hello')).toBe('hello');
      socket.destroy();
      await echoServer.listener.reloadTls();
    } finally {
      await echoServer.close();
    }
  });
});

describe('listener start', () => {
  const observer = createLoggingObserver(createLogger('silent'));
  const start = (overrides: Partial<ListenerTlsConfig>) =>
    startListener({ host: '127.0.0.1', port: 0, tls: tlsConfig(overrides), allowPlaintext: false }, observer, () => {}, { logger: createLogger('silent') });

  it('rejects a key of another pair', async () => {
    await expect(start({ key: client.keyFile })).rejects.toThrow(
      new RespguardError('RG_ERR_CONFIG', `listener 127.0.0.1:0: tls.key ${client.keyFile} does not belong to the certificate in tls.cert ${server.certFile}: install the key of the same pair`),
    );
  });

  it('rejects an expired certificate', async () => {
    const expiredServer = await certificates.issueServer(ca, 'expired-server', { days: -1 });
    const error = await start({ cert: expiredServer.certFile, key: expiredServer.keyFile }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RespguardError);
    expect((error as RespguardError).code).toBe('RG_ERR_CONFIG');
    expect((error as RespguardError).message).toMatch(
      new RegExp(`^listener 127\\.0\\.0\\.1:0: tls\\.cert ${expiredServer.certFile.replace(/[.]/g, '\\.')} expired on .+ GMT: install a renewed certificate$`),
    );
  });

  it('rejects a file that is not PEM', async () => {
    const garbage = certificates.file('garbage.crt');
    writeFileSync(garbage, 'not a certificate\n');
    const error = (await start({ cert: garbage }).catch((caught: unknown) => caught)) as Error;
    expect(error.message).toMatch(new RegExp(`^listener 127\\.0\\.0\\.1:0: tls\\.cert ${garbage.replace(/[.]/g, '\\.')} is not a PEM certificate: `));
  });

  it('rejects a missing file', async () => {
    const missing = certificates.file('missing.key');
    await expect(start({ key: missing })).rejects.toThrow(`listener 127.0.0.1:0: cannot read tls.key ${missing}: ENOENT`);
  });
});
