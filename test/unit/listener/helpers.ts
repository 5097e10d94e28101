/**
 * Fixtures of the listener tests: an observer that records the events a listener reports, a
 * started listener whose accepted sockets echo what they read, and TLS clients that report
 * the server certificate they saw or why the connection failed.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ListenerConfig } from '../../../src/config/types.js';
import { startListener, type Listener, type ListenerOptions } from '../../../src/listener/listener.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createLoggingObserver, type EventSource, type ProxyObserver } from '../../../src/observability/observer.js';
import { captureLogs, type LogCapture } from '../../helpers/proxy.js';

export interface RecordedEvents {
  readonly disconnects: { source: EventSource | null; reason: string }[];
  readonly handshakeFailures: { listener: string; remote: string; reason: string }[];
}

export interface EchoListener {
  readonly listener: Listener;
  readonly port: number;
  readonly events: RecordedEvents;
  readonly logs: LogCapture;
  /** Sockets that reached the session handler. */
  readonly accepted: net.Socket[];
  close(): Promise<void>;
}

/** Starts a listener on a free loopback port whose handler echoes every byte back. */
export async function startEchoListener(config: Omit<ListenerConfig, 'port'>, options: Omit<ListenerOptions, 'logger'> = {}): Promise<EchoListener> {
  const { capture, stream } = captureLogs();
  const logger = createLogger('debug', stream);
  const events: RecordedEvents = { disconnects: [], handshakeFailures: [] };
  const observer: ProxyObserver = {
    ...createLoggingObserver(logger),
    limitDisconnect: (source, reason) => events.disconnects.push({ source, reason }),
    tlsHandshakeFailed: (listener, remote, reason) => events.handshakeFailures.push({ listener, remote, reason }),
  };
  const accepted: net.Socket[] = [];
  const listener = await startListener({ ...config, port: 0 }, observer, (socket) => {
    accepted.push(socket);
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    socket.on('error', () => {});
  }, { ...options, logger });
  const port = (listener.server.address() as net.AddressInfo).port;
  return {
    listener,
    port,
    events,
    logs: capture,
    accepted,
    async close() {
      for (const socket of accepted) socket.destroy();
      await listener.close();
    },
  };
}

/** Outcome of a TLS client connection. */
export type TlsOutcome =
  | { readonly ok: true; readonly socket: tls.TLSSocket; readonly fingerprint: string; readonly protocol: string | null; readonly cipher: string }
  | { readonly ok: false; readonly error: string };

/**
 * Connects with TLS and sends one echo round trip, so that a connection the server closes right
 * after the handshake (an unverified client certificate) also counts as failed.
 */
export async function connectTls(port: number, options: tls.ConnectionOptions): Promise<TlsOutcome> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed before the handshake')));
    });
    const echoed = await new Promise<string>((resolve, reject) => {
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed by the server')));
      socket.write('ping');
    });
    if (echoed !== 'ping') throw new Error(`unexpected echo ${JSON.stringify(echoed)}`);
  } catch (error) {
    socket.destroy();
    return { ok: false, error: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
  socket.removeAllListeners('close');
  socket.removeAllListeners('error');
  socket.on('error', () => {});
  return {
    ok: true,
    socket,
    fingerprint: socket.getPeerX509Certificate()!.fingerprint256,
    protocol: socket.getProtocol(),
    cipher: socket.getCipher().name,
  };
}

/** Returns the outcome of a completed handshake; throws with the reason when the handshake failed. */
export function connected(outcome: TlsOutcome): Extract<TlsOutcome, { ok: true }> {
  if (!outcome.ok) throw new Error(`handshake failed: ${outcome.error}`);
  return outcome;
}

/** Sends `text` on an established socket and returns the echo, or the reason there was none. */
export async function echo(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('TIMEOUT'), 5000);
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(chunk.toString());
    });
    socket.once('close', () => resolve('CLOSED'));
    socket.write(text);
  });
}

/** Waits until `condition` holds, checking every 20 ms; throws after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
