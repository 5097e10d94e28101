/**
 * The metrics listener (`metrics: {host, port}`): a node:http server, apart from the client
 * listeners, that serves
 * - `/metrics`: the Prometheus text exposition,
 * - `/healthz`: 200 while the process runs,
 * - `/readyz`: 200 while the upstream is reachable, 503 otherwise, so that a load balancer
 *   sends no clients to a respguard that could only reply to them with errors.
 * With workers, the primary process serves it and asks its workers for the values.
 */
import http from 'node:http';
import type net from 'node:net';
import type { MetricsConfig } from '../config/types.js';
import type { Logger } from './logger.js';

/** Whether clients' commands can reach the upstream, and when not, what is missing. */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** Source of the values that the metrics listener serves. */
export interface HealthSource {
  /** Content-Type of the exposition returned by `metrics`. */
  readonly contentType: string;
  metrics(): Promise<string>;
  readiness(): Promise<Readiness>;
}

/** A running metrics listener. */
export interface MetricsServer {
  /** The address actually bound (the configured port, or the one the system chose for port 0). */
  readonly address: { readonly host: string; readonly port: number };
  /** Stops listening and closes open connections, keep-alive ones included. */
  close(): Promise<void>;
}

/** Starts the metrics listener; rejects with the system error (EADDRINUSE, EACCES) when the address cannot be bound. */
export async function startMetricsServer(config: MetricsConfig, source: HealthSource, logger: Logger): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    handle(request, response, source).catch((error: unknown) => {
      logger.error({ event: 'metrics', path: request.url, error: (error as Error).message }, 'metrics request failed');
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error; see the respguard log\n');
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: config.host, port: config.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ event: 'metrics', error: error.message }, 'metrics listener error'));

  const bound = server.address() as net.AddressInfo;
  const address = { host: bound.address, port: bound.port };
  logger.info({ event: 'metrics', address: `${address.host}:${address.port}` }, 'metrics listener started');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(request: http.IncomingMessage, response: http.ServerResponse, source: HealthSource): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    send(response, 405, 'text/plain; charset=utf-8', 'method not allowed: use GET\n');
    return;
  }
  const path = (request.url ?? '/').split('?', 1)[0];
  switch (path) {
    case '/metrics':
      send(response, 200, source.contentType, await source.metrics());
      return;
    case '/healthz':
      send(response, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    case '/readyz':
    {
      const readiness = await source.readiness();
      if (readiness.ready) send(response, 200, 'text/plain; charset=utf-8', 'ready\n');
      else send(response, 503, 'text/plain; charset=utf-8', `not ready: ${readiness.reason}\n`);
      return;
    }
    default:
      send(response, 404, 'text/plain; charset=utf-8', 'not found: respguard serves /metrics, /healthz and /readyz\n');
  }
}

function send(response: http.ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
