import { describe, expect, it } from 'vitest';
import { AggregatorRegistry } from 'prom-client';
import { createLogger } from '../../../src/observability/logger.js';
import { createMetricsObserver } from '../../../src/observability/metrics-observer.js';
import { METRICS, RespguardMetrics } from '../../../src/observability/metrics.js';
import { captureLogs } from '../../helpers/proxy.js';

const SOURCE = { listener: '127.0.0.1:6380', remote: '10.0.0.7:50001', session: 1 };

function setup() {
  const { capture, stream } = captureLogs();
  const observer = createMetricsObserver(createLogger('info', stream), { processMetrics: false });
  return { observer, capture, text: () => observer.metrics.registry.metrics() };
}

/** Returns the sample lines of an exposition, without HELP, TYPE and blank lines. */
function samples(exposition: string): string[] {
  return exposition.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('metrics list', () => {
  it('names every metric respguard_*', () => {
    for (const spec of METRICS) expect(spec.name).toMatch(/^respguard_[a-z_]+$/);
  });

  it('ends counter names in _total', () => {
    for (const spec of METRICS.filter((metric) => metric.type === 'counter')) expect(spec.name).toMatch(/_total$/);
  });
});

describe('metrics observer', () => {
  it('counts commands by user, command and result', async () => {
    const { observer, text } = setup();
    observer.commandDone('app', 'get', 'allowed', 20_000, 300_000);
    observer.commandDone('app', 'get', 'allowed', 20_000, 300_000);
    observer.commandDone('app', 'set', 'denied', 5_000, 0);
    observer.commandDone('unauthenticated', 'unknown', 'rejected', 5_000, 0);
    observer.commandDone('app', 'flushall', 'blocked', 5_000, 0);
    observer.commandDone('app', 'get', 'upstream_error', 5_000, 0);
    const lines = samples(await text());
    expect(lines.filter((line) => line.startsWith('respguard_commands_total'))).toEqual([
      'respguard_commands_total{user="app",command="get",result="allowed"} 2',
      'respguard_commands_total{user="app",command="get",result="upstream_error"} 1',
      'respguard_commands_total{user="app",command="set",result="denied"} 1',
      'respguard_commands_total{user="app",command="flushall",result="blocked"} 1',
      'respguard_commands_total{user="unauthenticated",command="unknown",result="rejected"} 1',
    ]);
  });

  it('observes both latencies in seconds', async () => {
    const { observer, text } = setup();
    observer.commandDone('app', 'get', 'allowed', 20_000, 300_000);
    observer.commandDone('app', 'get', 'allowed', 2_000_000, 3_000_000);
    observer.commandDone('app', 'ping', 'allowed', 8_000, 0);
    const lines = samples(await text());
    expect(lines).toContain('respguard_proxy_duration_seconds_bucket{le="0.00001"} 1');
    expect(lines).toContain('respguard_proxy_duration_seconds_bucket{le="0.000025"} 2');
    expect(lines).toContain('respguard_proxy_duration_seconds_bucket{le="0.001"} 2');
    expect(lines).toContain('respguard_proxy_duration_seconds_bucket{le="0.0025"} 3');
    expect(lines).toContain('respguard_proxy_duration_seconds_bucket{le="+Inf"} 3');
    expect(lines).toContain('respguard_proxy_duration_seconds_sum 0.002028');
    expect(lines).toContain('respguard_proxy_duration_seconds_count 3');
    expect(lines).toContain('respguard_upstream_duration_seconds_bucket{le="0.00025"} 0');
    expect(lines).toContain('respguard_upstream_duration_seconds_bucket{le="0.0005"} 1');
    expect(lines).toContain('respguard_upstream_duration_seconds_bucket{le="0.005"} 2');
    expect(lines).toContain('respguard_upstream_duration_seconds_sum 0.0033');
    expect(lines).toContain('respguard_upstream_duration_seconds_count 2');
  });

  it('counts connections per listener', async () => {
    const { observer, text } = setup();
    observer.clientConnected('127.0.0.1:6380');
    observer.clientConnected('127.0.0.1:6380');
    observer.clientConnected('0.0.0.0:6381');
    observer.clientDisconnected('127.0.0.1:6380');
    const lines = samples(await text());
    expect(lines).toContain('respguard_client_connections{listener="127.0.0.1:6380"} 1');
    expect(lines).toContain('respguard_client_connections{listener="0.0.0.0:6381"} 1');
    expect(lines).toContain('respguard_client_connections_total{listener="127.0.0.1:6380"} 2');
    expect(lines).toContain('respguard_client_connections_total{listener="0.0.0.0:6381"} 1');
  });

  it('counts authentications and bytes', async () => {
    const { observer, text } = setup();
    observer.authSucceeded(SOURCE, 'app', 'AUTH');
    observer.authFailed(SOURCE, 'app', 'AUTH', 'password mismatch');
    observer.authFailed(SOURCE, undefined, 'HELLO', 'unknown user');
    observer.bytes('in', 100);
    observer.bytes('in', 23);
    observer.bytes('out', 5);
    const lines = samples(await text());
    expect(lines).toContain('respguard_authentications_total{user="app",result="success"} 1');
    expect(lines).toContain('respguard_authentications_total{user="app",result="failure"} 1');
    expect(lines).toContain('respguard_authentications_total{user="unknown",result="failure"} 1');
    expect(lines).toContain('respguard_client_bytes_total{direction="in"} 123');
    expect(lines).toContain('respguard_client_bytes_total{direction="out"} 5');
  });

  it('labels TLS failures by error code', async () => {
    const { observer, text, capture } = setup();
    observer.tlsHandshakeFailed('0.0.0.0:6381', '10.0.0.7:50001', 'ERR_SSL_WRONG_VERSION_NUMBER');
    observer.tlsHandshakeFailed('0.0.0.0:6381', '10.0.0.8:50001', 'socket hang up');
    const lines = samples(await text());
    expect(lines).toContain('respguard_tls_handshake_failures_total{listener="0.0.0.0:6381",reason="ERR_SSL_WRONG_VERSION_NUMBER"} 1');
    expect(lines).toContain('respguard_tls_handshake_failures_total{listener="0.0.0.0:6381",reason="other"} 1');
    expect(capture.lines.map((line) => line.reason)).toEqual(['ERR_SSL_WRONG_VERSION_NUMBER', 'socket hang up']);
  });

  it('counts limits and suppressed audit entries', async () => {
    const { observer, text, capture } = setup();
    for (let i = 0; i < 3; i++) observer.limitDisconnect(SOURCE, 'output_buffer', 'app');
    observer.limitDisconnect(null, 'max_clients', undefined);
    const lines = samples(await text());
    expect(lines).toContain('respguard_limit_disconnects_total{reason="output_buffer"} 3');
    expect(lines).toContain('respguard_limit_disconnects_total{reason="max_clients"} 1');
    expect(lines).toContain('respguard_audit_suppressed_total{event="limit"} 2');
    expect(capture.lines.length).toBe(2);
    observer.flush();
  });

  it('reads the pool at scrape time', async () => {
    const { observer, text } = setup();
    let stats = { connections: 8, ready: 6, pending: 3, reconnects: 2 };
    observer.watchPool({ stats: () => stats, pinned: { stats: () => ({ active: 4 }) } });
    expect(samples(await text())).toEqual(
      expect.arrayContaining([
        'respguard_upstream_connections 8',
        'respguard_upstream_ready_connections 6',
        'respguard_upstream_pending_requests 3',
        'respguard_upstream_reconnects_total 2',
        'respguard_upstream_pinned_connections 4',
      ]),
    );
    stats = { connections: 8, ready: 8, pending: 0, reconnects: 5 };
    expect(samples(await text())).toEqual(
      expect.arrayContaining(['respguard_upstream_ready_connections 8', 'respguard_upstream_pending_requests 0', 'respguard_upstream_reconnects_total 5']),
    );
  });

  it('reads failovers and topology checks at scrape time', async () => {
    const { observer, text } = setup();
    let stats = { failovers: 0, refreshes: { ok: 3, failed: 1 } };
    let nodes = new Map([['127.0.0.1:7001', 4], ['127.0.0.1:7002', 2]]);
    observer.watchTopology({ topologyStats: () => stats, nodeConnections: () => nodes }, 'sentinel');
    expect(samples(await text())).toEqual(
      expect.arrayContaining([
        'respguard_upstream_node_connections{node="127.0.0.1:7001"} 4',
        'respguard_upstream_node_connections{node="127.0.0.1:7002"} 2',
        'respguard_upstream_failovers_total{mode="sentinel"} 0',
        'respguard_upstream_topology_refreshes_total{result="ok"} 3',
        'respguard_upstream_topology_refreshes_total{result="failed"} 1',
      ]),
    );
    stats = { failovers: 1, refreshes: { ok: 9, failed: 1 } };
    nodes = new Map([['127.0.0.1:7002', 4]]);
    const after = samples(await text());
    expect(after).toEqual(
      expect.arrayContaining(['respguard_upstream_failovers_total{mode="sentinel"} 1', 'respguard_upstream_topology_refreshes_total{result="ok"} 9']),
    );
    expect(after.filter((sample) => sample.startsWith('respguard_upstream_node_connections'))).toEqual(['respguard_upstream_node_connections{node="127.0.0.1:7002"} 4']);
  });

  it('counts reloads and writes their lines', async () => {
    const { observer, text, capture } = setup();
    observer.configReloaded('ok', { file: '/etc/respguard.yaml', trigger: 'SIGHUP' });
    observer.configReloaded('failed', { file: '/etc/respguard.yaml', trigger: 'file change', error: 'bad' });
    const lines = samples(await text());
    expect(lines).toContain('respguard_config_reloads_total{result="ok"} 1');
    expect(lines).toContain('respguard_config_reloads_total{result="failed"} 1');
    expect(capture.lines).toMatchObject([
      { level: 30, event: 'reload', result: 'ok', trigger: 'SIGHUP', msg: 'config reload applied' },
      { level: 50, event: 'reload', result: 'failed', trigger: 'file change', error: 'bad', msg: 'config reload failed; the running config stays' },
    ]);
  });

  it('turns the command audit on at reload', () => {
    const { observer, capture } = setup();
    expect(observer.auditsCommands).toBe(false);
    observer.configureAudit({ commands: ['app'] });
    expect(observer.auditsCommands).toBe(true);
    observer.commandAudited(SOURCE, 'app', 'get', 'allowed', 1000, 2000);
    expect(capture.lines).toMatchObject([{ event: 'command', user: 'app', command: 'get' }]);
    observer.configureAudit(undefined);
    expect(observer.auditsCommands).toBe(false);
  });
});

describe('aggregation', () => {
  it('sums counters and histograms and takes the maximum of reloads', async () => {
    const first = new RespguardMetrics({ processMetrics: false });
    const second = new RespguardMetrics({ processMetrics: false });
    first.counter('respguard_worker_restarts_total').inc(1);
    second.counter('respguard_worker_restarts_total').inc(2);
    first.histogram('respguard_upstream_duration_seconds').observe(200_000);
    second.histogram('respguard_upstream_duration_seconds').observe(400_000);
    first.counter('respguard_config_reloads_total').inc({ result: 'ok' }, 3);
    second.counter('respguard_config_reloads_total').inc({ result: 'ok' }, 3);
    const merged = AggregatorRegistry.aggregate([await first.registry.getMetricsAsJSON(), await second.registry.getMetricsAsJSON()]);
    const lines = samples(await merged.metrics());
    expect(lines).toContain('respguard_worker_restarts_total 3');
    expect(lines).toContain('respguard_upstream_duration_seconds_bucket{le="0.00025"} 1');
    expect(lines).toContain('respguard_upstream_duration_seconds_bucket{le="0.0005"} 2');
    expect(lines).toContain('respguard_upstream_duration_seconds_count 2');
    expect(lines).toContain('respguard_config_reloads_total{result="ok"} 3');
  });
});
