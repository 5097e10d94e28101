/**
 * TLS to the upstream against a real redis-server on its `tls-port`, with certificates made by
 * openssl at test time. Covered: verification of the CA and the server name, the client
 * certificate, and errors that name the upstream and the reason.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpstreamTlsConfig } from '../../src/config/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { UpstreamConnection, type ConnectionOptions } from '../../src/upstream/connection.js';
import { connectUpstream } from '../../src/upstream/socket.js';
import { CertificateDir, commonName, type IssuedCertificate } from '../helpers/certificates.js';
import { freePort, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { parseConfig } from '../../src/config/load.js';
import { startServer } from '../../src/server.js';

const certificates = new CertificateDir();
let ca: IssuedCertificate;
let otherCa: IssuedCertificate;
let client: IssuedCertificate;
/** Requires a client certificate (redis's default `tls-auth-clients yes`). */
let strictRedis: RedisServer;
let strictPort: number;
/** Accepts clients without a certificate (`tls-auth-clients optional`). */
let redis: RedisServer;
let tlsPort: number;

async function startTlsRedis(server: IssuedCertificate, authClients: 'yes' | 'optional'): Promise<{ redis: RedisServer; port: number }> {
  const port = await freePort();
  const started = await startRedis({
    password: 'upstream-secret',
    args: ['--tls-port', String(port), '--tls-cert-file', server.certFile, '--tls-key-file', server.keyFile, '--tls-ca-cert-file', ca.certFile, '--tls-auth-clients', authClients],
  });
  return { redis: started, port };
}

beforeAll(async () => {
  ca = await certificates.createCa('ca');
  otherCa = await certificates.createCa('other-ca');
  const server = await certificates.issueServer(ca);
  client = await certificates.issue(ca, { name: 'respguard', subject: commonName('respguard') });
  ({ redis, port: tlsPort } = await startTlsRedis(server, 'optional'));
  ({ redis: strictRedis, port: strictPort } = await startTlsRedis(server, 'yes'));
});

afterAll(async () => {
  await redis?.stop();
  await strictRedis?.stop();
  certificates.remove();
});

function tlsOptions(overrides: Partial<UpstreamTlsConfig> = {}): UpstreamTlsConfig {
  return { ca: ca.certFile, rejectUnauthorized: true, ...overrides };
}

/** Connects, sends PING, and returns the reply or the error as `CODE: message`. */
async function ping(port: number, tls: UpstreamTlsConfig, connectTimeoutMs = 5000): Promise<string> {
  const socket = connectUpstream({ host: '127.0.0.1', port, tls, connectTimeoutMs });
  socket.write('AUTH upstream-secret\r\nPING\r\n');
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (received.includes('PONG')) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(`${error.code}: ${error.message}`));
    socket.on('close', () => resolve(received === '' ? 'CLOSED' : received));
  });
}

describe('connectUpstream over TLS', () => {
  it('verifies the CA', async () => {
    expect(await ping(tlsPort, tlsOptions())).toBe('+OK\r\n+PONG\r\n');
  });

  it('checks a server name', async () => {
    expect(await ping(tlsPort, tlsOptions({ servername: 'localhost' }))).toBe('+OK\r\n+PONG\r\n');
    expect(await ping(tlsPort, tlsOptions({ servername: '127.0.0.1' }))).toBe('+OK\r\n+PONG\r\n');
  });

  it('rejects a wrong server name', async () => {
    expect(await ping(tlsPort, tlsOptions({ servername: 'redis.example' }))).toBe(
      `ERR_TLS_CERT_ALTNAME_INVALID: TLS to upstream 127.0.0.1:${tlsPort} failed: Hostname/IP does not match certificate's altnames: ` +
        "Host: redis.example. is not in the cert's altnames: IP Address:127.0.0.1, DNS:localhost",
    );
    expect(await ping(tlsPort, tlsOptions({ servername: '127.0.0.2' }))).toBe(
      `ERR_TLS_CERT_ALTNAME_INVALID: TLS to upstream 127.0.0.1:${tlsPort} failed: Hostname/IP does not match certificate's altnames: ` +
        "IP: 127.0.0.2 is not in the cert's list: 127.0.0.1",
    );
  });

  it('rejects an unknown CA', async () => {
    expect(await ping(tlsPort, tlsOptions({ ca: otherCa.certFile }))).toBe(
      `SELF_SIGNED_CERT_IN_CHAIN: TLS to upstream 127.0.0.1:${tlsPort} failed: self-signed certificate in certificate chain`,
    );
  });

  it('skips verification when told', async () => {
    expect(await ping(tlsPort, tlsOptions({ ca: otherCa.certFile, rejectUnauthorized: false }))).toBe('+OK\r\n+PONG\r\n');
  });

  it('presents a client certificate', async () => {
    expect(await ping(strictPort, tlsOptions({ cert: client.certFile, key: client.keyFile }))).toBe('+OK\r\n+PONG\r\n');
  });

  it('reports a missing client certificate', async () => {
    const outcome = await ping(strictPort, tlsOptions());
    expect(outcome).toMatch(new RegExp(`^ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: TLS to upstream 127\\.0\\.0\\.1:${strictPort} failed: .*tlsv13 alert certificate required`));
  });

  it('reports a missing file', async () => {
    expect(await ping(tlsPort, tlsOptions({ ca: certificates.file('absent.crt') }))).toBe(
      `undefined: TLS to upstream 127.0.0.1:${tlsPort} not started: cannot read upstream.tls.ca ${certificates.file('absent.crt')}: ENOENT`,
    );
  });

  it('reports a key that does not parse', async () => {
    const garbage = certificates.file('garbage.key');
    writeFileSync(garbage, 'not a key\n');
    expect(await ping(tlsPort, tlsOptions({ cert: client.certFile, key: garbage }))).toMatch(
      new RegExp(`^undefined: TLS to upstream 127\\.0\\.0\\.1:${tlsPort} not started: .*(DECODER routines|PEM routines)`),
    );
  });

  it('times out a stalled handshake', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      expect(await ping(port, tlsOptions(), 300)).toBe(`ERR_TLS_HANDSHAKE_TIMEOUT: TLS to upstream 127.0.0.1:${port} failed: no handshake within 300 ms`);
    } finally {
      silent.close();
    }
  });

  it('times out on a plaintext port', async () => {
    // Redis reads the ClientHello as the start of an inline command and waits for its end.
    expect(await ping(redis.port, tlsOptions(), 300)).toBe(`ERR_TLS_HANDSHAKE_TIMEOUT: TLS to upstream 127.0.0.1:${redis.port} failed: no handshake within 300 ms`);
  });
});

describe('UpstreamConnection over TLS', () => {
  function connect(port: number, tls: UpstreamTlsConfig): UpstreamConnection {
    const options: ConnectionOptions & { tls: UpstreamTlsConfig } = {
      host: '127.0.0.1',
      port,
      password: 'upstream-secret',
      protocol: 2,
      connectTimeoutMs: 5000,
      maxReplyDepth: 1000,
      maxBulkLength: 512 * 1024 * 1024,
      clientName: 'respguard-tls-test',
      tls,
    };
    return new UpstreamConnection(options, createLogger('silent'));
  }

  it('initializes and forwards', async () => {
    const connection = connect(strictPort, tlsOptions({ cert: client.certFile, key: client.keyFile }));
    try {
      const facts = await new Promise<{ version: string }>((resolve, reject) => {
        connection.once('ready', resolve);
        connection.once('close', (reason: string) => reject(new Error(reason)));
      });
      expect(facts.version).toBe('7.0.15');
      const reply = await new Promise<string>((resolve) => connection.sendInternal(['ECHO', 'over tls'], (bytes) => resolve(bytes.toString())));
      expect(reply).toBe('$8\r\nover tls\r\n');
    } finally {
      connection.destroy('test done');
    }
  });

  it('closes with the verification code', async () => {
    const connection = connect(tlsPort, tlsOptions({ servername: 'redis.example' }));
    const reason = await new Promise<string>((resolve) => connection.once('close', resolve));
    expect(reason).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });
});

describe('respguard with upstream.tls', () => {
  it('forwards client commands over TLS with a client certificate', async () => {
    const port = await freePort();
    const yaml = [
      'listeners:',
      '  - host: 127.0.0.1',
      `    port: ${port}`,
      'upstream:',
      '  host: 127.0.0.1',
      `  port: ${strictPort}`,
      '  password: upstream-secret',
      `  tls: { ca: ${JSON.stringify(ca.certFile)}, cert: ${JSON.stringify(client.certFile)}, key: ${JSON.stringify(client.keyFile)} }`,
      'users:',
      '  app:',
      '    acl: "on >app-pass ~* +@all"',
      '',
    ].join('\n');
    const server = await startServer(parseConfig(yaml, 'tls-upstream.yaml'), { logger: createLogger('silent') });
    try {
      const proxyClient = await RawClient.connect(port);
      expect(await proxyClient.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
      let reply = '';
      for (let i = 0; i < 100 && reply !== '+OK\r\n'; i++) {
        reply = await proxyClient.call(['SET', 'tls:k', 'v']);
        if (reply !== '+OK\r\n') await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(reply).toBe('+OK\r\n');
      expect(await proxyClient.call(['GET', 'tls:k'])).toBe('$1\r\nv\r\n');
      expect(await proxyClient.call(['MULTI'])).toBe('+OK\r\n');
      expect(await proxyClient.call(['GET', 'tls:k'])).toBe('+QUEUED\r\n');
      expect(await proxyClient.call(['EXEC'])).toBe('*1\r\n$1\r\nv\r\n');
      proxyClient.close();
    } finally {
      await server.close(1000);
    }
  });
});
