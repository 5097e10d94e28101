/**
 * A client that never reads its replies. respguard keeps reading its requests, as Redis does,
 * and buffers the replies up to `limits.maxOutputBuffer`; past that it disconnects the client.
 * Its memory must stay bounded meanwhile, and other clients must not notice.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { RawClient, encodeCommand } from '../helpers/resp-client.js';
import { LoadClient, MB, reportFigures, totalCounts, waitFor } from './load.js';

const OUTPUT_LIMIT = 8 * MB;
const VALUE_BYTES = MB;
/** GET requests of the 1 MiB value: 200 MiB of replies, 25 times the output limit. */
const GETS = 200;

let upstream: RedisServer;
let proxy: ProxyProcess;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxyProcess(upstream, {
    users: { app: 'on >app-pass ~* +@all' },
    extraYaml: `limits:\n  maxOutputBuffer: ${OUTPUT_LIMIT}\n`,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

/** Reads one counter or gauge from respguard's metrics, summed over its labels. */
async function metric(name: string): Promise<number> {
  return (await proxy.metrics()).get(name) ?? 0;
}

describe('client that never reads', () => {
  it('is disconnected at maxOutputBuffer', async () => {
    const setup = await RawClient.connect(proxy.port);
    expect(await setup.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    expect(await setup.call(['SET', 'slow:big', Buffer.alloc(VALUE_BYTES, 0x61)])).toBe('+OK\r\n');
    setup.close();
    const rssBeforeMB = proxy.memory().rssBytes / MB;

    const others = Array.from({ length: 10 }, (_, id) => new LoadClient(proxy.port, id, { user: 'app', password: 'app-pass' }));
    const running = others.map((client) => client.run());
    expect(await waitFor(() => others.every((client) => client.counts.ok >= 100), 20_000)).toBe(true);
    const okBefore = totalCounts(others).ok;

    const sleeper = net.connect({ host: '127.0.0.1', port: proxy.port });
    sleeper.on('error', () => {});
    await new Promise((resolve) => sleeper.once('connect', resolve));
    sleeper.write(encodeCommand(['AUTH', 'app', 'app-pass']));
    // Never read: the replies pile up in respguard once the kernel's socket buffers are full.
    sleeper.pause();
    const gets = encodeCommand(['GET', 'slow:big']);
    sleeper.write(Buffer.concat(Array.from({ length: GETS }, () => gets)));
    const sentAt = Date.now();

    let disconnects = 0;
    const deadline = Date.now() + 20_000;
    while (disconnects === 0 && Date.now() < deadline) {
      disconnects = await metric('respguard_limit_disconnects_total');
      if (disconnects === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const disconnectedAfterMs = Date.now() - sentAt;
    // The others keep working for another second after the disconnect.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const client of others) client.stop();
    await Promise.all(running);
    sleeper.destroy();

    const total = totalCounts(others);
    const peakRssMB = proxy.memory().peakRssBytes / MB;
    reportFigures('client that never reads', {
      outputLimitMB: OUTPUT_LIMIT / MB,
      repliesRequestedMB: (GETS * VALUE_BYTES) / MB,
      disconnectedAfterMs,
      rssBeforeMB,
      peakRssMB,
      otherClients: others.length,
      othersOkDuring: total.ok - okBefore,
      ...total,
    });
    expect(disconnects).toBe(1);
    // The piled-up replies are at most the limit plus one reply, far below the 200 MiB requested.
    expect(peakRssMB - rssBeforeMB).toBeLessThan(100);
    expect(total.ok - okBefore).toBeGreaterThan(0);
    expect(total.error).toBe(0);
    expect(total.misrouted).toBe(0);
    expect(total.unanswered).toBe(0);
    expect(total.closed).toBe(0);
    // Closes reach respguard a moment after the clients close their sockets.
    let open = await metric('respguard_client_connections');
    for (let i = 0; i < 100 && open !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      open = await metric('respguard_client_connections');
    }
    expect(open).toBe(0);
  }, 60_000);
});
