/**
 * Many concurrent connections. Each one logs in and gets its own ECHO back, twice, while all are
 * open, and one more than `limits.maxClients` is turned away with Redis's error. The test opens
 * 1,000 connections in CI and 10,000 with RESPGUARD_HEAVY=1. The test process holds one file
 * descriptor per connection and the child respguard another, so both need an open-file limit
 * above the count (`ulimit -n`).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { RawClient } from '../helpers/resp-client.js';
import { MB, reportFigures } from './load.js';

const HEAVY = process.env.RESPGUARD_HEAVY === '1';
const CONNECTIONS = HEAVY ? 10_000 : 1000;
/** Connections opened at once; more would overflow the listen backlog (511 in Node) and wait for SYN retries. */
const OPEN_BATCH = 250;

let upstream: RedisServer;
let proxy: ProxyProcess;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxyProcess(upstream, {
    users: { app: 'on >app-pass ~* +@all' },
    extraYaml: `limits:\n  maxClients: ${CONNECTIONS}\n`,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

/** Returns the soft limit on open files of this process, from /proc/self/limits. */
function openFileLimit(): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return match?.[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match?.[1] ?? 1024);
}

/** Runs `task` on every item, at most `width` at a time. */
async function inBatches<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let at = 0; at < items.length; at += width) results.push(...(await Promise.all(items.slice(at, at + width).map(task))));
  return results;
}

describe('concurrent connections', () => {
  it(`serves ${CONNECTIONS} clients at once`, async () => {
    const limit = openFileLimit();
    // Node cannot raise its own limit, so the message names the fix instead of failing on EMFILE.
    expect(limit, `the open-file limit is ${limit}; raise it with \`ulimit -n ${CONNECTIONS * 2}\``).toBeGreaterThan(CONNECTIONS + 200);
    const rssBeforeMB = proxy.memory().rssBytes / MB;
    const ids = Array.from({ length: CONNECTIONS }, (_, id) => id);

    let started = Date.now();
    const clients = await inBatches(ids, OPEN_BATCH, async (id) => {
      const client = await RawClient.connect(proxy.port);
      expect(await client.call(['AUTH', 'app', 'app-pass'], 30_000)).toBe('+OK\r\n');
      return { id, client };
    });
    const openMs = Date.now() - started;
    expect((await proxy.metrics()).get('respguard_client_connections')).toBe(CONNECTIONS);

    const extra = await RawClient.connect(proxy.port);
    expect(await extra.reply()).toBe('-ERR max number of clients reached\r\n');
    expect(await extra.waitClosed()).toBe(true);

    started = Date.now();
    const wrong: string[] = [];
    for (let round = 0; round < 2; round++) {
      const replies = await Promise.all(clients.map(({ id, client }) => client.call(['ECHO', `conn-${id}-${round}`], 30_000)));
      replies.forEach((reply, id) => {
        const token = `conn-${id}-${round}`;
        if (reply !== `$${token.length}\r\n${token}\r\n`) wrong.push(`${token}: ${JSON.stringify(reply)}`);
      });
    }
    const echoMs = Date.now() - started;
    const rssOpenMB = proxy.memory().rssBytes / MB;

    for (const { client } of clients) client.close();
    const released = await (async () => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        if ((await proxy.metrics()).get('respguard_client_connections') === 0) return true;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return false;
    })();
    reportFigures('concurrent connections', {
      connections: CONNECTIONS,
      openAndAuthMs: openMs,
      twoEchoRoundsMs: echoMs,
      rssBeforeMB,
      rssWithAllOpenMB: rssOpenMB,
      peakRssMB: proxy.memory().peakRssBytes / MB,
      wrongReplies: wrong.length,
    });
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(released).toBe(true);
  }, 180_000);
});
