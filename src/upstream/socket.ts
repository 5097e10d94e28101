/**
 * Opens the transport of one upstream connection: plain TCP, or TLS when `upstream.tls` is set.
 * Kept apart from the connection logic so that request handling does not depend on the
 * transport. The returned socket emits 'connect' when TCP connects; a TLS socket then emits
 * 'secureConnect' once the handshake and the server certificate check passed. Requests written
 * before that wait in Node's buffers and are sent only over the verified connection.
 *
 * TLS verifies the server certificate against `tls.ca` (Node's bundled roots when absent) and
 * checks that it names `tls.servername`, or the upstream host when no server name is set,
 * unless `rejectUnauthorized: false`. The files are read at each connect, so a rotated CA or
 * client certificate is used from the next reconnect on.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { UpstreamTlsConfig } from '../config/types.js';

export interface UpstreamSocketOptions {
  readonly host: string;
  readonly port: number;
  /** TLS settings; absent means plain TCP. */
  readonly tls?: UpstreamTlsConfig;
  /** The config field of `tls`, for error messages; absent means `upstream.tls`. */
  readonly tlsField?: string;
  /** Time allowed for the TCP connect and the TLS handshake together, in ms; absent means no limit. */
  readonly connectTimeoutMs?: number;
}

/**
 * Connects to the upstream. TLS files that cannot be read or parsed become an 'error' event on
 * the returned socket, as a refused connection does, so the caller's reconnect logic handles
 * them. Errors of the TLS layer (failed certificate check, handshake alert) keep their code
 * (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ERR_TLS_CERT_ALTNAME_INVALID`) and get a message that
 * names the upstream.
 */
export function connectUpstream(options: UpstreamSocketOptions): net.Socket {
  if (options.tls === undefined) return net.connect({ host: options.host, port: options.port, noDelay: true });

  const address = `${options.host}:${options.port}`;
  let socket: tls.TLSSocket;
  try {
    // tls.connect throws at once when a certificate or key file does not parse.
    socket = tls.connect(tlsConnectOptions(options.host, options.port, options.tls, options.tlsField ?? 'upstream.tls'));
  } catch (error) {
    return failedSocket(new Error(`TLS to upstream ${address} not started: ${(error as Error).message}`));
  }
  socket.setNoDelay(true);
  socket.prependListener('error', (error: NodeJS.ErrnoException) => {
    // System errors (ECONNREFUSED) describe themselves; the others come from the TLS layer.
    if (error.syscall === undefined) error.message = `TLS to upstream ${address} failed: ${error.message}`;
  });
  if (options.connectTimeoutMs !== undefined) limitHandshakeTime(socket, options.connectTimeoutMs);
  return socket;
}

/**
 * Destroys the socket when the TCP connect and the TLS handshake together take longer than
 * `timeoutMs`. The caller's connect timer cannot cover the handshake, because a TLSSocket emits
 * 'connect' as soon as TCP connects, and Node's own handshake code listens for that event.
 */
function limitHandshakeTime(socket: tls.TLSSocket, timeoutMs: number): void {
  const timer = setTimeout(() => {
    // The 'error' listener added in connectUpstream puts the upstream address in front.
    const error: NodeJS.ErrnoException = new Error(`no handshake within ${timeoutMs} ms`);
    error.code = 'ERR_TLS_HANDSHAKE_TIMEOUT';
    socket.destroy(error);
  }, timeoutMs);
  const stop = (): void => clearTimeout(timer);
  socket.once('secureConnect', stop);
  socket.once('close', stop);
}

function tlsConnectOptions(host: string, port: number, config: UpstreamTlsConfig, field: string): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = {
    host,
    port,
    rejectUnauthorized: config.rejectUnauthorized,
    ...(config.ca === undefined ? {} : { ca: readTlsFile(`${field}.ca`, config.ca) }),
    ...(config.cert === undefined ? {} : { cert: readTlsFile(`${field}.cert`, config.cert) }),
    ...(config.key === undefined ? {} : { key: readTlsFile(`${field}.key`, config.key) }),
  };
  const servername = config.servername;
  if (servername === undefined) return options;
  // SNI carries host names only (RFC 6066), so an IP address is checked against the
  // certificate without being sent.
  if (net.isIP(servername) === 0) return { ...options, servername };
  return { ...options, checkServerIdentity: (_host, certificate) => tls.checkServerIdentity(servername, certificate) };
}

function readTlsFile(field: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`cannot read ${field} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Returns a socket that emits `error` on the next tick and closes, as a failed connect does. */
function failedSocket(error: Error): net.Socket {
  const socket = new net.Socket();
  process.nextTick(() => socket.destroy(error));
  return socket;
}
