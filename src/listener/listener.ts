/**
 * Client listeners. Each configured listener becomes a `net.Server`, or a `tls.Server` when it
 * has a `tls` section; both hand accepted sockets to the same handler, so the session does not
 * depend on how its socket was accepted. TLS sockets reach the handler only after a completed
 * handshake.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { ListenerConfig } from '../config/types.js';
import type { ProxyObserver } from '../observability/observer.js';

export interface Listener {
  readonly label: string;
  readonly server: net.Server;
  close(): Promise<void>;
}

/** Human-readable address of a listener, used in logs (`127.0.0.1:6380`). */
export function listenerLabel(config: ListenerConfig): string {
  return config.host.includes(':') ? `[${config.host}]:${config.port}` : `${config.host}:${config.port}`;
}

/** Starts listening; rejects with the system error (EADDRINUSE, EACCES) when the address cannot be bound. */
export async function startListener(
  config: ListenerConfig,
  observer: ProxyObserver,
  onSocket: (socket: net.Socket, label: string) => void,
): Promise<Listener> {
  const label = listenerLabel(config);
  const server = config.tls ? createTlsServer(config, label, observer, onSocket) : net.createServer({ noDelay: true }, (socket) => onSocket(socket, label));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: config.host, port: config.port, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    label,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function createTlsServer(
  config: ListenerConfig,
  label: string,
  observer: ProxyObserver,
  onSocket: (socket: net.Socket, label: string) => void,
): tls.Server {
  const options = config.tls!;
  // TODO(tls): certificate identities and rotation without a restart; files are read once here.
  const server = tls.createServer(
    {
      cert: readFileSync(options.cert),
      key: readFileSync(options.key),
      ca: options.ca ? readFileSync(options.ca) : undefined,
      requestCert: options.clientAuth !== 'none',
      rejectUnauthorized: options.clientAuth === 'require',
      minVersion: options.minVersion,
      ciphers: options.ciphers,
      noDelay: true,
    },
    (socket) => onSocket(socket, label),
  );
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket) => {
    observer.tlsHandshakeFailed(label, `${socket.remoteAddress}:${socket.remotePort}`, error.code ?? error.message);
  });
  return server;
}
