/**
 * The upstream is killed and restarted under load. Clients must get error replies while it is
 * down, then work again without a restart of respguard, and every reply must be their own and
 * in order. respguard runs as a child process so that its memory can be measured.
 * RESPGUARD_HEAVY=1 runs 200 clients through five kill and restart cycles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { LoadClient, MB, reportFigures, totalCounts, waitFor } from './load.js';

const HEAVY = process.env.RESPGUARD_HEAVY === '1';
const CLIENTS = HEAVY ? 200 : 40;
const CYCLES = HEAVY ? 5 : 1;
const PASSWORD = 'upstream-secret';

let upstream: RedisServer;
let restarted: RedisServer | undefined;
let proxy: ProxyProcess;

beforeAll(async () => {
  upstream = await startRedis({ password: PASSWORD });
  proxy = await startProxyProcess(upstream, { users: { app: 'on >app-pass ~* +@all' } });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([upstream?.stop(), restarted?.stop()]);
});

describe('upstream restart under load', () => {
  it('recovers with no misrouted reply', async () => {
    const clients = Array.from({ length: CLIENTS }, (_, id) => new LoadClient(proxy.port, id, { user: 'app', password: 'app-pass' }));
    const running = clients.map((client) => client.run());
    expect(await waitFor(() => clients.every((client) => client.counts.ok >= 100), 20_000)).toBe(true);

    const downMs: number[] = [];
    const recoveryMs: number[] = [];
    let recovered = true;
    for (let cycle = 0; cycle < CYCLES && recovered; cycle++) {
      const current = restarted ?? upstream;
      current.process.kill('SIGKILL');
      await new Promise((resolve) => current.process.once('exit', resolve));
      const killedAt = Date.now();
      expect(await waitFor(() => clients.every((client) => client.lastErrorAt >= killedAt), 10_000)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1000));

      await restarted?.stop();
      restarted = await startRedis({ password: PASSWORD, port: upstream.port });
      const restartedAt = Date.now();
      downMs.push(restartedAt - killedAt);
      recovered = await waitFor(() => clients.every((client) => client.lastOkAt > restartedAt), 20_000);
      recoveryMs.push(Date.now() - restartedAt);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    for (const client of clients) client.stop();
    await Promise.all(running);

    const total = totalCounts(clients);
    reportFigures('upstream restart', { clients: CLIENTS, cycles: CYCLES, downMs, recoveryMs, ...total, peakRssMB: proxy.memory().peakRssBytes / MB });
    expect(clients.flatMap((client) => client.misroutedSamples)).toEqual([]);
    expect(total.misrouted).toBe(0);
    expect(total.unanswered).toBe(0);
    expect(total.closed).toBe(0);
    expect(total.error).toBeGreaterThan(0);
    expect(recovered).toBe(true);
    expect(proxy.alive()).toBe(true);
  }, 120_000);
});
