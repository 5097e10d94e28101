/**
 * The metrics listener and the audit log end to end: a real redis-server, respguard with the
 * metrics observer, a known sequence of client commands, and /metrics read over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startMetricsServer, type MetricsServer } from '../../src/observability/http.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetricsObserver, type MetricsObserver } from '../../src/observability/metrics-observer.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { captureLogs, type LogCapture } from '../helpers/proxy.js';
import { freePort, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { encodeCommand, RawClient } from '../helpers/resp-client.js';

interface Stack {
  readonly upstream: RedisServer;
  readonly server: RunningServer;
  readonly observer: MetricsObserver;
  readonly http: MetricsServer;
  readonly logs: LogCapture;
  readonly port: number;
  stop(): Promise<void>;
}

async function startStack(): Promise<Stack> {
  const upstream = await startRedis({ password: 'upstream-secret' });
  const port = await freePort();
  const yaml = `listeners:
  - { host: 127.0.0.1, port: ${port} }
upstream: { host: 127.0.0.1, port: ${upstream.port}, password: upstream-secret, pool: { size: 1 } }
users:
  writer: { acl: "on >w-pass ~* +@all -@dangerous" }
  reader: { acl: "on >r-pass ~cache:* +get" }
  admin: { acl: "on >admin-pass ~* +@all" }
`;
  const config = parseConfig(yaml, 'ops.yaml', {});
  const { capture, stream } = captureLogs();
  const logger = createLogger('info', stream);
  const observer = createMetricsObserver(logger, { processMetrics: false });
  const server = await startServer(config, { logger, observer });
  observer.watchPool(server.context.pool);
  const source = {
    contentType: observer.metrics.registry.contentType,
    metrics: () => observer.metrics.registry.metrics(),
    readiness: async () => server.readiness(),
  };
  const http = await startMetricsServer({ host: '127.0.0.1', port: 0 }, source, logger);
  const deadline = Date.now() + 10_000;
  while (!server.context.pool.isReady && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return {
    upstream,
    server,
    observer,
    http,
    logs: capture,
    port,
    async stop() {
      await http.close();
      await server.close(1000);
      await upstream.stop();
    },
  };
}

async function get(stack: Stack, path: string, method = 'GET'): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(`http://127.0.0.1:${stack.http.address.port}${path}`, { method });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

async function samples(stack: Stack): Promise<string[]> {
  const { body } = await get(stack, '/metrics');
  return body.split('\n').filter((line) => line.startsWith('respguard_'));
}

/** A client that counts the bytes it sends and receives, to compare with the byte counters. */
class CountingClient {
  static sent = 0;
  static received = 0;
  private constructor(readonly raw: RawClient) {}

  static async connect(port: number): Promise<CountingClient> {
    return new CountingClient(await RawClient.connect(port));
  }

  async call(args: string[]): Promise<string> {
    CountingClient.sent += encodeCommand(args).length;
    const reply = await this.raw.call(args);
    CountingClient.received += Buffer.byteLength(reply, 'latin1');
    return reply;
  }
}

describe('metrics after a known sequence', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
    const writer = await CountingClient.connect(stack.port);
    expect(await writer.call(['AUTH', 'writer', 'w-pass'])).toBe('+OK\r\n');
    expect(await writer.call(['SET', 'ops-key-1', 'ops-value-1'])).toBe('+OK\r\n');
    expect(await writer.call(['GET', 'ops-key-1'])).toBe('$11\r\nops-value-1\r\n');
    expect(await writer.call(['FOO', 'ops-arg-1'])).toBe("-ERR unknown command 'FOO', with args beginning with: \r\n");

    const reader = await CountingClient.connect(stack.port);
    expect(await reader.call(['AUTH', 'reader', 'r-pass'])).toBe('+OK\r\n');
    expect(await reader.call(['SET', 'cache:ops-key-2', 'ops-value-2'])).toBe("-NOPERM this user has no permissions to run the 'set' command\r\n");

    const admin = await CountingClient.connect(stack.port);
    expect(await admin.call(['AUTH', 'admin', 'admin-pass'])).toBe('+OK\r\n');
    expect((await admin.call(['FLUSHALL'])).startsWith('-ERR')).toBe(true);

    const anonymous = await CountingClient.connect(stack.port);
    expect(await anonymous.call(['GET', 'ops-key-1'])).toBe('-NOAUTH Authentication required.\r\n');
    expect(await anonymous.call(['AUTH', 'writer', 'wrong-pass'])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');

    const oversized = await RawClient.connect(stack.port);
    oversized.send('*20\r\n');
    CountingClient.sent += 5;
    const protocolError = await oversized.reply();
    CountingClient.received += protocolError.length;
    expect(protocolError).toBe('-ERR Protocol error: unauthenticated multibulk length\r\n');
    expect(await oversized.waitClosed()).toBe(true);

    for (const client of [writer, reader, admin, anonymous]) client.raw.close();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !(await samples(stack)).includes(`respguard_client_connections{listener="127.0.0.1:${stack.port}"} 0`)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('counts commands by user, command and result', async () => {
    const lines = (await samples(stack)).filter((line) => line.startsWith('respguard_commands_total'));
    expect(lines.sort()).toEqual(
      [
        'respguard_commands_total{user="admin",command="auth",result="allowed"} 1',
        'respguard_commands_total{user="admin",command="flushall",result="blocked"} 1',
        'respguard_commands_total{user="reader",command="auth",result="allowed"} 1',
        'respguard_commands_total{user="reader",command="set",result="denied"} 1',
        'respguard_commands_total{user="unauthenticated",command="auth",result="allowed"} 1',
        'respguard_commands_total{user="unauthenticated",command="get",result="rejected"} 1',
        'respguard_commands_total{user="writer",command="auth",result="allowed"} 1',
        'respguard_commands_total{user="writer",command="get",result="allowed"} 1',
        'respguard_commands_total{user="writer",command="set",result="allowed"} 1',
        'respguard_commands_total{user="writer",command="unknown",result="rejected"} 1',
      ].sort(),
    );
  });

  it('counts logins, connections and limits', async () => {
    const lines = await samples(stack);
    const listener = `listener="127.0.0.1:${stack.port}"`;
    expect(lines).toContain('respguard_authentications_total{user="writer",result="success"} 1');
    expect(lines).toContain('respguard_authentications_total{user="writer",result="failure"} 1');
    expect(lines).toContain('respguard_authentications_total{user="reader",result="success"} 1');
    expect(lines).toContain('respguard_authentications_total{user="admin",result="success"} 1');
    expect(lines).toContain(`respguard_client_connections_total{${listener}} 5`);
    expect(lines).toContain(`respguard_client_connections{${listener}} 0`);
    expect(lines).toContain('respguard_limit_disconnects_total{reason="unauthenticated_multibulk_length"} 1');
  });

  it('counts bytes and latencies', async () => {
    const lines = await samples(stack);
    expect(lines).toContain(`respguard_client_bytes_total{direction="in"} ${CountingClient.sent}`);
    expect(lines).toContain(`respguard_client_bytes_total{direction="out"} ${CountingClient.received}`);
    expect(lines).toContain('respguard_proxy_duration_seconds_count 10');
    expect(lines).toContain('respguard_upstream_duration_seconds_count 2');
  });

  it('reports the upstream pool', async () => {
    const lines = await samples(stack);
    expect(lines).toContain('respguard_upstream_connections 2');
    expect(lines).toContain('respguard_upstream_ready_connections 2');
    expect(lines).toContain('respguard_upstream_pending_requests 0');
    expect(lines).toContain('respguard_upstream_reconnects_total 0');
  });

  it('writes audit lines for denials and failed logins', () => {
    const denied = stack.logs.lines.filter((line) => line.event === 'denied');
    expect(denied).toMatchObject([{ level: 40, user: 'reader', command: 'set', listener: `127.0.0.1:${stack.port}`, msg: 'command denied by ACL' }]);
    expect(typeof denied[0]!.reason).toBe('string');
    expect(String(denied[0]!.remote)).toMatch(/^127\.0\.0\.1:\d+$/);
    const failed = stack.logs.lines.filter((line) => line.event === 'auth_failed');
    expect(failed).toMatchObject([{ level: 40, user: 'writer', via: 'AUTH', reason: 'password mismatch', msg: 'authentication failed' }]);
    const blocked = stack.logs.lines.filter((line) => line.event === 'blocked');
    expect(blocked).toMatchObject([{ level: 40, user: 'admin', command: 'flushall' }]);
    const limits = stack.logs.lines.filter((line) => line.event === 'limit');
    expect(limits).toMatchObject([{ level: 40, reason: 'unauthenticated_multibulk_length' }]);
  });

  it('keeps secrets and arguments out of logs and metrics', async () => {
    const { body } = await get(stack, '/metrics');
    for (const secret of ['w-pass', 'r-pass', 'admin-pass', 'wrong-pass', 'upstream-secret', 'ops-key', 'ops-value', 'ops-arg', 'FOO']) {
      expect(stack.logs.text()).not.toContain(secret);
      expect(body).not.toContain(secret);
    }
  });
});

describe('metrics listener', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('serves the exposition format', async () => {
    const response = await get(stack, '/metrics?name=x');
    expect(response.status).toBe(200);
    expect(response.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.body).toContain('# TYPE respguard_commands_total counter\n');
    expect(response.body).toContain('# TYPE respguard_proxy_duration_seconds histogram\n');
  });

  it('answers health and readiness', async () => {
    expect(await get(stack, '/healthz')).toEqual({ status: 200, type: 'text/plain; charset=utf-8', body: 'ok\n' });
    expect(await get(stack, '/readyz')).toEqual({ status: 200, type: 'text/plain; charset=utf-8', body: 'ready\n' });
  });

  it('rejects other paths and methods', async () => {
    expect((await get(stack, '/')).status).toBe(404);
    expect((await get(stack, '/metrics', 'POST')).status).toBe(405);
    expect((await get(stack, '/healthz', 'HEAD')).status).toBe(200);
  });

  it('reports not ready without the upstream', async () => {
    await stack.upstream.stop();
    const deadline = Date.now() + 5000;
    while (stack.server.context.pool.isReady && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await get(stack, '/readyz')).toEqual({ status: 503, type: 'text/plain; charset=utf-8', body: 'not ready: no upstream connection is ready\n' });
    expect(await get(stack, '/healthz')).toEqual({ status: 200, type: 'text/plain; charset=utf-8', body: 'ok\n' });
    const lines = await samples(stack);
    expect(lines).toContain('respguard_upstream_ready_connections 0');
  });
});
