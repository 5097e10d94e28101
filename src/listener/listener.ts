/**
 * Client listeners. Each configured listener becomes a `net.Server`, or a `tls.Server` when it
 * has a `tls` section. Both hand accepted sockets to the same handler, so the session does not
 * depend on how its socket was accepted.
 *
 * Invariants: a client outside the listener's `sources` is disconnected when its connection is
 * accepted, before respguard reads a byte from it or starts a TLS handshake; a TLS socket
 * reaches the handler only after a completed handshake, and on a listener with
 * `clientAuth: require` only with a client certificate that verified against `tls.ca`.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ListenerConfig, ListenerTlsConfig } from '../config/types.js';
import { RespguardError } from '../errors.js';
import { createLogger, type Logger } from '../observability/logger.js';
import type { ProxyObserver } from '../observability/observer.js';
import { AddressAllowlist } from './allowlist.js';
import { checkTlsMaterial, readTlsMaterial, secureContextOptions, TlsFileError } from './tls-context.js';
import { DEFAULT_ROTATION, TlsRotation, type RotationOptions } from './tls-rotation.js';

export interface Listener {
  readonly label: string;
  readonly server: net.Server;
  close(): Promise<void>;
  /**
   * Reads the certificate, key and CA files of a TLS listener again and uses them for new
   * handshakes; established connections keep theirs. Logs the outcome. Rejects with the reason
   * when the new files cannot be used, and the files in use stay. Resolves at once for a
   * plaintext listener.
   */
  reloadTls(): Promise<void>;
}

export interface ListenerOptions {
  /** Logger for TLS reloads. NOTE: without one, those lines go to a logger of their own on standard output. */
  readonly logger?: Logger;
  /** Change detection for the TLS files; DEFAULT_ROTATION unless set. */
  readonly rotation?: RotationOptions;
}

type SocketHandler = (socket: net.Socket, label: string) => void;

/** Human-readable address of a listener, used in logs (`127.0.0.1:6380`). */
export function listenerLabel(config: ListenerConfig): string {
  return config.host.includes(':') ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
}

/**
 * Starts listening. Rejects with the system error (EADDRINUSE, EACCES) when the address cannot be
 * bound, and with RespguardError RG_ERR_CONFIG when the TLS files cannot be used.
 */
export async function startListener(
  config: ListenerConfig,
  observer: ProxyObserver,
  onSocket: SocketHandler,
  options: ListenerOptions = {},
): Promise<Listener> {
  const label = listenerLabel(config);
  const logger = (options.logger ?? createLogger()).child({ listener: label });
  let rotation: TlsRotation | null = null;
  let server: net.Server;
  if (config.tls) {
    const created = await createTlsServer(config.tls, label, observer, onSocket, logger);
    server = created.server;
    rotation = created.rotation;
  } else {
    server = net.createServer({ noDelay: true }, (socket) => onSocket(socket, label));
  }
  if (config.sources !== undefined) admitOnlySources(server, new AddressAllowlist(config.sources), label, observer);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: config.host, port: config.port, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    rotation?.close();
    throw error;
  });
  rotation?.startWatching(options.rotation ?? DEFAULT_ROTATION);

  return {
    label,
    server,
    close: () => {
      rotation?.close();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
    reloadTls: () => (rotation ? rotation.reload() : Promise.resolve()),
  };
}

/**
 * Makes the allowlist check run before every other 'connection' listener, including the one
 * that `tls.Server` installs to start the handshake, so that a rejected client is destroyed
 * before any byte of it is read or answered.
 */
function admitOnlySources(server: net.Server, allowlist: AddressAllowlist, label: string, observer: ProxyObserver): void {
  const handlers = server.listeners('connection') as ((socket: net.Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: net.Socket) => {
    if (!allowlist.allows(socket.remoteAddress ?? '')) {
      const remote = `${socket.remoteAddress}:${socket.remotePort}`;
      socket.destroy();
      observer.limitDisconnect({ listener: label, remote, session: 0 }, 'source_not_allowed', undefined);
      return;
    }
    for (const handler of handlers) handler.call(server, socket);
  });
}

async function createTlsServer(
  config: ListenerTlsConfig,
  label: string,
  observer: ProxyObserver,
  onSocket: SocketHandler,
  logger: Logger,
): Promise<{ server: tls.Server; rotation: TlsRotation }> {
  let material;
  try {
    material = await readTlsMaterial(config);
    const summary = checkTlsMaterial(config, material);
    logger.debug({ event: 'tls_load', ...summary }, 'TLS certificate loaded');
  } catch (error) {
    if (!(error instanceof TlsFileError)) throw error;
    throw new RespguardError('RG_ERR_CONFIG', `listener ${label}: ${error.message}`, { cause: error });
  }

  const requireCertificate = config.clientAuth === 'require';
  // Unverified client certificates are rejected below rather than by OpenSSL, because Node
  // closes such a connection silently, and the audit log must name the client and the reason.
  const server = tls.createServer(
    {
      ...secureContextOptions(config, material),
      requestCert: config.clientAuth !== 'none',
      rejectUnauthorized: false,
      noDelay: true,
    },
    (socket) => {
      if (requireCertificate && socket.authorized !== true) {
        observer.tlsHandshakeFailed(label, `${socket.remoteAddress}:${socket.remotePort}`, clientCertificateProblem(socket));
        socket.destroy();
        return;
      }
      onSocket(socket, label);
    },
  );
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket) => {
    observer.tlsHandshakeFailed(label, `${socket.remoteAddress}:${socket.remotePort}`, error.code ?? error.message);
  });
  return { server, rotation: new TlsRotation(config, material, server, logger) };
}

/** Names why a client certificate was not accepted: none sent, or the OpenSSL verification code (`CERT_HAS_EXPIRED`). */
function clientCertificateProblem(socket: tls.TLSSocket): string {
  const certificate = socket.getPeerCertificate(false) as Partial<tls.PeerCertificate> | undefined;
  if (!certificate || certificate.raw === undefined) return 'NO_CLIENT_CERTIFICATE';
  // Node's typings declare an Error, but Node 20 stores the OpenSSL code as a string here.
  const error = socket.authorizationError as unknown;
  if (typeof error === 'string') return error;
  return error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : 'UNVERIFIED';
}
