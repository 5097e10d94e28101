/**
 * How respguard decides which primary to use in sentinel mode, staged with real processes: a
 * fresh setup per test of a primary, two replicas and three `redis-server --sentinel` processes
 * (test/helpers/redis-sentinel.ts, `failover-timeout 3000`). Covers the stop at
 * `+selected-slave` and the return after a failover that timed out, a sentinel that never heard
 * of a switch, and a primary that was made a replica behind the sentinels' back.
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { waitFor } from '../faults/load.js';
import { captureLogs, type LogCapture } from '../helpers/proxy.js';
import { freePort } from '../helpers/redis-server.js';
import { query, startRedisSentinel, type RedisSentinelSetup } from '../helpers/redis-sentinel.js';
import { RawClient } from '../helpers/resp-client.js';

const SWITCHING = '-ERR upstream unavailable (the primary of mymaster is switching); respguard is reconnecting, try again\r\n';
const READONLY = "-READONLY You can't write against a read only replica.\r\n";

let setup: RedisSentinelSetup | undefined;
let server: RunningServer | undefined;
let logs: LogCapture;
let port: number;
/** Processes stopped with SIGSTOP, continued after each test. */
const paused = new Set<ChildProcess>();

afterEach(async () => {
  for (const process of paused) process.kill('SIGCONT');
  paused.clear();
  await server?.close(500);
  server = undefined;
  await setup?.stop();
  setup = undefined;
});

/** Starts the Sentinel setup, and respguard in front of the sentinels at `extraSentinels` and the setup's own. */
async function start(extraSentinels: (setup: RedisSentinelSetup) => Promise<string[]> = async () => []): Promise<RedisSentinelSetup> {
  setup = await startRedisSentinel();
  port = await freePort();
  const nodes = [...setup.sentinelAddresses, ...(await extraSentinels(setup))];
  const sentinel = { masterName: setup.masterName, nodes, password: setup.sentinelPassword };
  const yaml =
    `listeners:\n  - host: 127.0.0.1\n    port: ${port}\n` +
    `upstream: { mode: sentinel, password: ${setup.password}, pool: { size: 1 }, sentinel: ${JSON.stringify(sentinel)} }\n` +
    `users:\n  app:\n    acl: "on >app-pass ~* +@all"\n`;
  const captured = captureLogs();
  logs = captured.capture;
  server = await startServer(parseConfig(yaml, 'switching.yaml', {}), { logger: createLogger('debug', captured.stream) });
  expect(await waitFor(() => server!.context.pool.isReady, 5000)).toBe(true);
  expect(server.context.pool.address).toBe(`127.0.0.1:${setup.nodes[0]!.port}`);
  return setup;
}

async function client(): Promise<RawClient> {
  const connection = await RawClient.connect(port);
  expect(await connection.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
  return connection;
}

/** Runs one command on the data node listening on `nodePort`, with the data password. */
function onNode(nodePort: number, args: readonly string[]) {
  return query(nodePort, setup!.password, args);
}

/** Returns the port of the primary once every sentinel of the setup names one other than `before`. */
async function newPrimaryPort(before: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const primary = await setup!.primaryPort();
    if (primary !== before) return primary;
    if (Date.now() > deadline) throw new Error(`the sentinels still name the primary on port ${before} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Returns the role in the ROLE reply of the data node listening on `nodePort`. */
async function roleOf(nodePort: number): Promise<unknown> {
  const reply = await onNode(nodePort, ['ROLE']);
  return Array.isArray(reply) ? reply[0] : reply;
}

function pause(process: ChildProcess): void {
  process.kill('SIGSTOP');
  paused.add(process);
}

/** Sends PING until it gets `expected`, for up to `timeoutMs`; returns the last reply. */
async function pingUntil(app: RawClient, expected: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let reply = '';
  while (Date.now() < deadline) {
    reply = await app.call(['PING'], 1000);
    if (reply === expected) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return reply;
}

/** Returns the first log line with message `msg` whose `reasons` contain `reason`. */
function failedCheck(msg: string, reason: string): Record<string, unknown> | undefined {
  return logs.lines.find((line) => line.msg === msg && Array.isArray(line.reasons) && line.reasons.includes(reason));
}

describe('sentinel mode decisions', () => {
  it('holds the primary back during an aborted failover', async () => {
    const { nodes } = await start();
    const primary = nodes[0]!.port;
    const app = await client();
    expect(await app.call(['SET', 'before', '1'])).toBe('+OK\r\n');

    // With both replicas stopped, the replica that sentinel 0 selects never reports the master
    // role, so sentinel 0 gives the failover up after its failover-timeout.
    pause(nodes[1]!.process);
    pause(nodes[2]!.process);
    expect(await setup!.sentinel(0, ['FAILOVER', setup!.masterName])).toBe('OK');
    expect(await pingUntil(app, SWITCHING)).toBe(SWITCHING);
    expect(await app.call(['SET', 'during', '1'])).toBe(SWITCHING);

    // A periodic check gets the old primary from a sentinel while the failover runs, and does not use it.
    const heldReason = `127.0.0.1:${setup!.sentinels[0]!.port}: names 127.0.0.1:${primary}, whose failover is under way`;
    const heldCheck = () => failedCheck('no confirmed primary yet while the failover is under way; checking again', heldReason);
    expect(await waitFor(() => heldCheck() !== undefined, 5000)).toBe(true);

    expect(await pingUntil(app, '+PONG\r\n', 8000)).toBe('+PONG\r\n');
    expect(logs.lines.some((line) => line.msg === 'sentinel event' && line.channel === '-failover-abort-slave-timeout')).toBe(true);
    expect(logs.lines.some((line) => line.msg === 'the primary is in use again')).toBe(true);
    expect(server!.context.pool.address).toBe(`127.0.0.1:${primary}`);
    expect(server!.context.sentinel!.topologyStats().failovers).toBe(0);
    expect(await app.call(['SET', 'after', '1'])).toBe('+OK\r\n');
    expect(await onNode(primary, ['GET', 'after'])).toBe('1');
    expect(await onNode(primary, ['GET', 'during'])).toBe(null);
    expect(await roleOf(primary)).toBe('master');
    app.close();
  });

  it('ignores a sentinel that missed the switch', async () => {
    let cutOff = '';
    const { nodes, sentinels } = await start(async (created) => {
      cutOff = `127.0.0.1:${(await created.startCutOffSentinel()).port}`;
      return [cutOff];
    });
    const before = nodes[0]!.port;
    const app = await client();

    expect(await setup!.sentinel(0, ['FAILOVER', setup!.masterName])).toBe('OK');
    const after = await newPrimaryPort(before);
    expect(await waitFor(() => server!.context.pool.address === `127.0.0.1:${after}`, 5000)).toBe(true);

    // Only the cut-off sentinel is left. It names the old primary, which still reports the
    // master role, since the other sentinels make it a replica no sooner than 8 s after the switch.
    await Promise.all(sentinels.map((sentinel) => sentinel.stop()));
    const staleReason = `${cutOff}: names 127.0.0.1:${before}, the primary before the last switch (the sentinel has not heard of the switch yet)`;
    const staleCheck = () => failedCheck('no sentinel named a primary that confirms its role; checking again', staleReason);
    expect(await waitFor(() => staleCheck() !== undefined, 5000)).toBe(true);
    expect(await query(Number(cutOff.split(':')[1]), setup!.sentinelPassword, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', setup!.masterName])).toEqual([
      '127.0.0.1',
      String(before),
    ]);
    expect(await roleOf(before)).toBe('master');

    expect(server!.context.pool.address).toBe(`127.0.0.1:${after}`);
    expect(await app.call(['SET', 'switched', 'yes'])).toBe('+OK\r\n');
    expect(await onNode(after, ['GET', 'switched'])).toBe('yes');
    expect(await onNode(before, ['GET', 'switched'])).toBe(null);
    expect(server!.context.sentinel!.topologyStats().failovers).toBe(1);
    app.close();
  });

  it('drops a primary that became a replica', async () => {
    const { nodes } = await start();
    const before = nodes[0]!.port;
    const promoted = nodes[1]!.port;
    const app = await client();

    // A failover by hand that the sentinels have not noticed. They keep naming the old primary
    // until it has reported the replica role for down-after-milliseconds plus two 10 s INFO
    // periods (sentinel.c in Redis 7.0), 21 s here.
    expect(await onNode(promoted, ['REPLICAOF', 'NO', 'ONE'])).toBe('OK');
    expect(await onNode(before, ['REPLICAOF', '127.0.0.1', String(promoted)])).toBe('OK');
    // The first write fails upstream. The READONLY reply starts a check, which finds the node a replica.
    expect(await app.call(['SET', 'k', 'v'])).toBe(READONLY);
    const demoted = `-ERR upstream unavailable (127.0.0.1:${before} is no longer the primary of mymaster); respguard is reconnecting, try again\r\n`;
    expect(await pingUntil(app, demoted)).toBe(demoted);
    expect(await setup!.sentinel(0, ['GET-MASTER-ADDR-BY-NAME', setup!.masterName])).toEqual(['127.0.0.1', String(before)]);
    expect(await app.call(['SET', 'k', 'v'])).toBe(demoted);

    // The sentinels name a primary again once one of them runs a failover.
    expect(await setup!.sentinel(0, ['FAILOVER', setup!.masterName])).toBe('OK');
    const after = await newPrimaryPort(before);
    expect(await pingUntil(app, '+PONG\r\n')).toBe('+PONG\r\n');
    expect(await app.call(['SET', 'k', 'v'])).toBe('+OK\r\n');
    expect(await onNode(after, ['GET', 'k'])).toBe('v');
    expect(server!.context.pool.address).toBe(`127.0.0.1:${after}`);
    expect(logs.lines.find((line) => line.msg === 'the upstream primary switched')).toMatchObject({
      from: `127.0.0.1:${before}`,
      to: `127.0.0.1:${after}`,
    });
    expect(server!.context.sentinel!.topologyStats().failovers).toBe(1);
    app.close();
  });
});
