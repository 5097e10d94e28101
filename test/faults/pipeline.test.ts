/**
 * A pipeline of 100,000 commands written in one go before any reply is read: every reply must
 * come back, in order, and respguard's memory must stay bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { RawClient, encodeCommand } from '../helpers/resp-client.js';
import { MB, reportFigures } from './load.js';

const COMMANDS = 100_000;

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

describe('pipeline', () => {
  it(`answers ${COMMANDS} commands in order`, async () => {
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    const rssBeforeMB = proxy.memory().rssBytes / MB;

    // respguard replies to every third command itself, so local and forwarded replies interleave.
    const requests: Buffer[] = [];
    const expected: string[] = [];
    for (let i = 0; i < COMMANDS; i++) {
      if (i % 3 === 0) {
        requests.push(encodeCommand(['ECHO', `p${i}`]));
        expected.push(`$${String(i).length + 1}\r\np${i}\r\n`);
      } else if (i % 3 === 1) {
        requests.push(encodeCommand(['INCR', 'pipeline:counter']));
        expected.push(`:${(i + 2) / 3}\r\n`);
      } else {
        requests.push(encodeCommand(['CLIENT', 'GETNAME']));
        expected.push('$-1\r\n');
      }
    }
    const started = Date.now();
    client.send(Buffer.concat(requests));
    let mismatches = 0;
    let first = '';
    for (let i = 0; i < COMMANDS; i++) {
      const reply = await client.reply(30_000);
      if (reply !== expected[i]) {
        mismatches += 1;
        first ||= `reply ${i}: ${JSON.stringify(reply)}, expected ${JSON.stringify(expected[i])}`;
        if (reply === 'TIMEOUT' || reply === 'CLOSED') break;
      }
    }
    const elapsedMs = Date.now() - started;
    client.close();

    const peakRssMB = proxy.memory().peakRssBytes / MB;
    reportFigures('pipeline', { commands: COMMANDS, elapsedMs, commandsPerSecond: Math.round(COMMANDS / (elapsedMs / 1000)), rssBeforeMB, peakRssMB, mismatches });
    expect(first).toBe('');
    expect(mismatches).toBe(0);
    expect(peakRssMB - rssBeforeMB).toBeLessThan(200);
  }, 60_000);
});
