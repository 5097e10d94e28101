/**
 * How respguard decides which primary to use in sentinel mode, with scripted sentinels in front
 * of two real redis-servers that both report the master role, as an old and a new primary do
 * for some seconds after a failover. Covers the stop at `+selected-slave` and the return after
 * an aborted failover, a sentinel that has not heard of a switch, and a primary that became a
 * replica.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { waitFor } from '../faults/load.js';
import { FakeSentinel } from '../helpers/fake-sentinel.js';
import { captureLogs, type LogCapture } from '../helpers/proxy.js';
import { freePort, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { query } from '../helpers/redis-sentinel.js';
import { RawClient } from '../helpers/resp-client.js';

const PASSWORD = 'upstream-secret';
const SWITCHING = '-ERR upstream unavailable (the primary of mymaster is switching); respguard is reconnecting, try again\r\n';

let first: RedisServer;
let second: RedisServer;
let sentinels: FakeSentinel[] = [];
let server: RunningServer | undefined;
let logs: LogCapture;
let port: number;

beforeAll(async () => {
  first = await startRedis({ password: PASSWORD });
  second = await startRedis({ password: PASSWORD });
});

afterEach(async () => {
  await server?.close(500);
  server = undefined;
  await Promise.all(sentinels.map((sentinel) => sentinel.close()));
  sentinels = [];
  await query(first.port, PASSWORD, ['REPLICAOF', 'NO', 'ONE']);
});

afterAll(async () => {
  await first?.stop();
  await second?.stop();
});

/** Starts `count` scripted sentinels that name `first` as the primary, and respguard in front of them. */
async function start(count: number): Promise<void> {
  for (let i = 0; i < count; i++) sentinels.push(await FakeSentinel.start('mymaster', first.port));
  port = await freePort();
  const sentinel = { masterName: 'mymaster', nodes: sentinels.map((fake) => fake.address) };
  const yaml =
    `listeners:\n  - host: 127.0.0.1\n    port: ${port}\n` +
    `upstream: { mode: sentinel, password: ${PASSWORD}, pool: { size: 1 }, sentinel: ${JSON.stringify(sentinel)} }\n` +
    `users:\n  app:\n    acl: "on >app-pass ~* +@all"\n`;
  const captured = captureLogs();
  logs = captured.capture;
  server = await startServer(parseConfig(yaml, 'switching.yaml', {}), { logger: createLogger('debug', captured.stream) });
  expect(await waitFor(() => server!.context.pool.isReady, 5000)).toBe(true);
  expect(server.context.pool.address).toBe(`127.0.0.1:${first.port}`);
}

async function client(): Promise<RawClient> {
  const connection = await RawClient.connect(port);
  expect(await connection.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
  return connection;
}

/** Sends PING until it gets `expected`, for up to `timeoutMs`; returns the last reply. */
async function pingUntil(app: RawClient, expected: string, timeoutMs = 3000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let reply = '';
  while (Date.now() < deadline) {
    reply = await app.call(['PING'], 1000);
    if (reply === expected) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return reply;
}

describe('sentinel mode decisions', () => {
  it('holds the primary back during an aborted failover', async () => {
    await start(2);
    const app = await client();
    sentinels[1]!.publish('+selected-slave', `slave 127.0.0.1:${second.port} 127.0.0.1 ${second.port} @ mymaster 127.0.0.1 ${first.port}`);
    expect(await pingUntil(app, SWITCHING)).toBe(SWITCHING);
    // The checks every second still hear the old primary from the sentinels, and hold it back.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await app.call(['PING'])).toBe(SWITCHING);

    sentinels[1]!.publish('-failover-abort-slave-timeout', `master mymaster 127.0.0.1 ${first.port}`);
    expect(await pingUntil(app, '+PONG\r\n')).toBe('+PONG\r\n');
    expect(server!.context.pool.address).toBe(`127.0.0.1:${first.port}`);
    expect(server!.context.sentinel!.topologyStats().failovers).toBe(0);
    expect(logs.lines.some((line) => line.msg === 'the primary is in use again')).toBe(true);
    app.close();
  });

  it('ignores a sentinel that missed the switch', async () => {
    await start(2);
    const app = await client();
    const [updated, stale] = sentinels as [FakeSentinel, FakeSentinel];
    updated.primaryPort = second.port;
    updated.publish('+switch-master', `mymaster 127.0.0.1 ${first.port} 127.0.0.1 ${second.port}`);
    expect(await waitFor(() => server!.context.pool.address === `127.0.0.1:${second.port}`, 3000)).toBe(true);

    // Only the sentinel that still names the old primary is left, and that node reports the master role.
    await updated.close();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(stale.primaryPort).toBe(first.port);
    expect(server!.context.pool.address).toBe(`127.0.0.1:${second.port}`);
    expect(await app.call(['SET', 'switched', 'yes'])).toBe('+OK\r\n');
    expect(await query(second.port, PASSWORD, ['GET', 'switched'])).toBe('yes');
    expect(server!.context.sentinel!.topologyStats().failovers).toBe(1);
    app.close();
  });

  it('drops a primary that became a replica', async () => {
    await start(1);
    const app = await client();
    await query(first.port, PASSWORD, ['REPLICAOF', '127.0.0.1', String(second.port)]);
    // The first write fails upstream; the READONLY reply starts a check, which finds the node a replica.
    expect(await app.call(['SET', 'k', 'v'])).toMatch(/^-READONLY /);
    const demoted = `-ERR upstream unavailable (127.0.0.1:${first.port} is no longer the primary of mymaster); respguard is reconnecting, try again\r\n`;
    expect(await pingUntil(app, demoted)).toBe(demoted);

    sentinels[0]!.primaryPort = second.port;
    expect(await pingUntil(app, '+PONG\r\n')).toBe('+PONG\r\n');
    expect(await app.call(['SET', 'k', 'v'])).toBe('+OK\r\n');
    expect(server!.context.pool.address).toBe(`127.0.0.1:${second.port}`);
    expect(logs.lines.find((line) => line.msg === 'the upstream primary switched')).toMatchObject({
      from: `127.0.0.1:${first.port}`,
      to: `127.0.0.1:${second.port}`,
    });
    app.close();
  });
});
