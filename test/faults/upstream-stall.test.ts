/**
 * The upstream stops replying: its redis-server is stopped with SIGSTOP. With
 * `upstream.commandTimeoutMs` set, clients must get a timeout error instead of waiting, and
 * work again once the server continues (SIGCONT), without a restart of respguard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { RawClient } from '../helpers/resp-client.js';
import { LoadClient, MB, reportFigures, totalCounts, waitFor } from './load.js';

const CLIENTS = 20;
const COMMAND_TIMEOUT_MS = 500;
const LOST = '-ERR upstream connection lost before the reply; the command may or may not have run\r\n';

let upstream: RedisServer;
let proxy: ProxyProcess;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxyProcess(upstream, {
    users: { app: 'on >app-pass ~* +@all' },
    upstreamYaml: `  commandTimeoutMs: ${COMMAND_TIMEOUT_MS}\n`,
  });
});

afterAll(async () => {
  // SIGCONT first, in case a failed test left the server stopped.
  upstream?.process.kill('SIGCONT');
  await proxy?.stop();
  await upstream?.stop();
});

describe('upstream stall', () => {
  it('answers a waiting request with a timeout error', async () => {
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    upstream.process.kill('SIGSTOP');
    const started = Date.now();
    try {
      expect(await client.call(['ECHO', 'stalled'], 10_000)).toBe(LOST);
    } finally {
      upstream.process.kill('SIGCONT');
    }
    const waitedMs = Date.now() - started;
    // The pool checks for stalls every commandTimeoutMs / 4, so the error comes after 1 to 1.25
    // times the limit, plus scheduling delays on a busy machine.
    expect(waitedMs).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS);
    expect(waitedMs).toBeLessThan(COMMAND_TIMEOUT_MS * 4);
    reportFigures('upstream stall, one request', { commandTimeoutMs: COMMAND_TIMEOUT_MS, errorAfterMs: waitedMs });
    let reply = '';
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && reply !== '$5\r\nafter\r\n') {
      reply = await client.call(['ECHO', 'after'], 5000);
      if (reply !== '$5\r\nafter\r\n') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reply).toBe('$5\r\nafter\r\n');
    client.close();
  });

  it('recovers from a stall under load', async () => {
    const clients = Array.from({ length: CLIENTS }, (_, id) => new LoadClient(proxy.port, id, { user: 'app', password: 'app-pass' }));
    const running = clients.map((client) => client.run());
    expect(await waitFor(() => clients.every((client) => client.counts.ok >= 100), 20_000)).toBe(true);

    upstream.process.kill('SIGSTOP');
    const stoppedAt = Date.now();
    let erroredAll: boolean;
    try {
      erroredAll = await waitFor(() => clients.every((client) => client.lastErrorAt >= stoppedAt), 10_000);
    } finally {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + 2000 - Date.now())));
      upstream.process.kill('SIGCONT');
    }
    const firstErrorMs = Math.min(...clients.map((client) => client.firstErrorAt)) - stoppedAt;
    const continuedAt = Date.now();
    const recovered = await waitFor(() => clients.every((client) => client.lastOkAt > continuedAt), 20_000);
    const recoveryMs = Date.now() - continuedAt;
    for (const client of clients) client.stop();
    await Promise.all(running);

    const total = totalCounts(clients);
    reportFigures('upstream stall', { clients: CLIENTS, commandTimeoutMs: COMMAND_TIMEOUT_MS, stalledMs: continuedAt - stoppedAt, firstErrorMs, recoveryMs, ...total, peakRssMB: proxy.memory().peakRssBytes / MB });
    expect(erroredAll).toBe(true);
    expect(firstErrorMs).toBeLessThan(COMMAND_TIMEOUT_MS * 4);
    expect(clients.flatMap((client) => client.misroutedSamples)).toEqual([]);
    expect(total.misrouted).toBe(0);
    expect(total.unanswered).toBe(0);
    expect(total.closed).toBe(0);
    expect(recovered).toBe(true);
    expect(proxy.alive()).toBe(true);
  }, 60_000);
});
