/**
 * A client that sends half a request and waits. Other clients must not notice, and the client
 * must get its reply once it sends the rest, whether the request was multibulk or inline, and
 * also when it is the AUTH before authentication.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { RawClient } from '../helpers/resp-client.js';
import { LoadClient, reportFigures, totalCounts, waitFor } from './load.js';

/** Time the half-sent requests wait before they are completed, in ms. */
const PAUSE_MS = 2000;

let upstream: RedisServer;
let proxy: ProxyProcess;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxyProcess(upstream, { users: { app: 'on >app-pass ~* +@all' } });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

/** Measures round trips of ECHO on its own connection until `until` resolves; returns the slowest, in ms. */
async function slowestRoundTrip(until: Promise<void>): Promise<number> {
  const client = await RawClient.connect(proxy.port);
  expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
  let done = false;
  void until.then(() => (done = true));
  let slowest = 0;
  while (!done) {
    const started = Date.now();
    expect(await client.call(['ECHO', 'probe'])).toBe('$5\r\nprobe\r\n');
    slowest = Math.max(slowest, Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  client.close();
  return slowest;
}

describe('half-sent requests', () => {
  it('are answered once complete while others run', async () => {
    const others = Array.from({ length: 10 }, (_, id) => new LoadClient(proxy.port, id, { user: 'app', password: 'app-pass' }));
    const running = others.map((client) => client.run());
    expect(await waitFor(() => others.every((client) => client.counts.ok >= 100), 20_000)).toBe(true);

    const multibulk = await RawClient.connect(proxy.port);
    expect(await multibulk.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    const inline = await RawClient.connect(proxy.port);
    expect(await inline.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    const login = await RawClient.connect(proxy.port);

    multibulk.send('*3\r\n$3\r\nSET\r\n$9\r\nhalf:bulk\r\n$10\r\n01234');
    inline.send('ECHO half-inl');
    login.send('*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$8\r\napp-');
    const paused = new Promise<void>((resolve) => setTimeout(resolve, PAUSE_MS));
    const slowestMs = await slowestRoundTrip(paused);
    expect(await multibulk.reply(100)).toBe('TIMEOUT');
    expect(await inline.reply(100)).toBe('TIMEOUT');
    expect(await login.reply(100)).toBe('TIMEOUT');

    multibulk.send('56789\r\n');
    inline.send('ine\r\n');
    login.send('pass\r\n');
    expect(await multibulk.reply()).toBe('+OK\r\n');
    expect(await multibulk.call(['GET', 'half:bulk'])).toBe('$10\r\n0123456789\r\n');
    expect(await inline.reply()).toBe('$11\r\nhalf-inline\r\n');
    expect(await login.reply()).toBe('+OK\r\n');
    expect(await login.call(['ECHO', 'in'])).toBe('$2\r\nin\r\n');
    for (const client of [multibulk, inline, login]) client.close();

    for (const client of others) client.stop();
    await Promise.all(running);
    const total = totalCounts(others);
    reportFigures('half-sent requests', { pauseMs: PAUSE_MS, slowestProbeMs: slowestMs, otherClients: others.length, ...total });
    // A generous bound: the machine runs other test suites at the same time.
    expect(slowestMs).toBeLessThan(1000);
    expect(total.error).toBe(0);
    expect(total.misrouted).toBe(0);
    expect(total.unanswered).toBe(0);
    expect(total.closed).toBe(0);
  }, 60_000);
});
