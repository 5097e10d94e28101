/**
 * Opens the transport of one upstream connection. Kept apart from the connection logic so that
 * the transport (plain TCP today, TLS when `upstream.tls` is set) can change without touching
 * request handling. The returned socket emits 'connect' once it can carry requests.
 */
import net from 'node:net';

export interface UpstreamSocketOptions {
  readonly host: string;
  readonly port: number;
}

export function connectUpstream(options: UpstreamSocketOptions): net.Socket {
  return net.connect({ host: options.host, port: options.port, noDelay: true });
}
