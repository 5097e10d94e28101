/**
 * respguard as operators run it: a child process started from a fresh build with
 * `node bin/respguard.js --config FILE`, real signals, a real redis-server upstream, and with
 * `workers: 2` the worker processes of node:cluster. The build goes to a directory of its own
 * under node_modules/.cache, so that no other test rebuilds it while these processes read it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedis, waitForPort, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { makeConfigDir, type ConfigDir } from '../unit/cli/helpers.js';

const BUILD = path.resolve('node_modules/.cache/respguard-ops-test');
const BIN = path.join(BUILD, 'bin/respguard.js');

/** A running respguard process with its parsed log lines. */
class ProxyProcess {
  readonly lines: Record<string, unknown>[] = [];
  stderr = '';
  private readonly exit: Promise<{ code: number | null; signal: string | null }>;

  constructor(readonly child: ChildProcess) {
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const line of parts) if (line.startsWith('{')) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static start(file: string): ProxyProcess {
    return new ProxyProcess(spawn('node', [BIN, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  matching(fields: Record<string, unknown>): Record<string, unknown>[] {
    return this.lines.filter((line) => Object.entries(fields).every(([key, value]) => line[key] === value));
  }

  async waitForLogs(fields: Record<string, unknown>, count = 1, timeoutMs = 10_000): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.matching(fields).length < count) {
      if (Date.now() > deadline) throw new Error(`fewer than ${count} lines with ${JSON.stringify(fields)}; stderr: ${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.matching(fields);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  exited(): Promise<{ code: number | null; signal: string | null }> {
    return this.exit;
  }

  /** Stops the process by PID if a test left it running. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exit;
      clearTimeout(timer);
    }
  }
}

function config(ports: { proxy: number; upstream: number }, extra = ''): string {
  return (
    `listeners:\n  - { host: 127.0.0.1, port: ${ports.proxy} }\n` +
    `upstream: { host: 127.0.0.1, port: ${ports.upstream}, pool: { size: 1 } }\n` +
    `users:\n  app: { acl: "on >app-pw ~* +@all" }\n${extra}`
  );
}

async function metricsLines(port: number): Promise<string[]> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return body.split('\n').filter((line) => line.startsWith('respguard_'));
}

let redis: RedisServer;
let direct: RawClient;
const configs: ConfigDir = makeConfigDir();
const processes: ProxyProcess[] = [];

function startProxy(file: string): ProxyProcess {
  const proxy = ProxyProcess.start(file);
  processes.push(proxy);
  return proxy;
}

beforeAll(async () => {
  rmSync(BUILD, { recursive: true, force: true });
  // tsc emits JavaScript even when another file has a type error, so its status is not checked.
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', path.join(BUILD, 'dist')], { encoding: 'utf8' });
  mkdirSync(path.join(BUILD, 'bin'), { recursive: true });
  copyFileSync('bin/respguard.js', BIN);
  copyFileSync('package.json', path.join(BUILD, 'package.json'));
  redis = await startRedis();
  direct = await RawClient.connect(redis.port);
}, 120_000);

afterAll(async () => {
  for (const proxy of processes) await proxy.stop();
  direct?.close();
  await redis?.stop();
  configs.remove();
});

describe('graceful stop', () => {
  it('answers a pipeline in flight on SIGTERM', async () => {
    const ports = { proxy: await freePort(), upstream: redis.port };
    const proxy = startProxy(configs.write('drain.yaml', config(ports, 'shutdownTimeoutMs: 5000\n')));
    await proxy.waitForLogs({ msg: 'upstream connected' }, 2);
    const client = await RawClient.connect(ports.proxy);
    expect(await client.call(['AUTH', 'app', 'app-pw'])).toBe('+OK\r\n');
    expect(await client.call(['DEL', 'drain:counter'])).toMatch(/^:[01]\r\n$/);

    // The upstream pauses write commands for 1 s, so the pipeline is still in flight at SIGTERM.
    expect(await direct.call(['CLIENT', 'PAUSE', '1000', 'WRITE'])).toBe('+OK\r\n');
    for (let i = 0; i < 50; i++) client.send(['INCR', 'drain:counter']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stoppedAt = Date.now();
    proxy.signal('SIGTERM');
    await proxy.waitForLogs({ msg: 'stopping on signal' });
    await expect(RawClient.connect(ports.proxy)).rejects.toThrow('ECONNREFUSED');

    const replies: string[] = [];
    for (let i = 0; i < 50; i++) replies.push(await client.reply(5000));
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `:${i + 1}\r\n`));
    expect(await client.waitClosed(2000)).toBe(true);
    expect(await proxy.exited()).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect(proxy.matching({ msg: 'respguard stopped' }).length).toBe(1);
  });

  it('exits 0 at the timeout on SIGINT', async () => {
    const ports = { proxy: await freePort(), upstream: redis.port };
    const proxy = startProxy(configs.write('timeout.yaml', config(ports, 'shutdownTimeoutMs: 500\n')));
    await proxy.waitForLogs({ msg: 'upstream connected' }, 2);
    const client = await RawClient.connect(ports.proxy);
    expect(await client.call(['AUTH', 'app', 'app-pw'])).toBe('+OK\r\n');

    expect(await direct.call(['CLIENT', 'PAUSE', '10000', 'WRITE'])).toBe('+OK\r\n');
    client.send(['INCR', 'drain:counter']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stoppedAt = Date.now();
    proxy.signal('SIGINT');
    expect(await proxy.exited()).toEqual({ code: 0, signal: null });
    const elapsed = Date.now() - stoppedAt;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(2000);
    expect(await client.reply(1000)).toBe('CLOSED');
    expect(await direct.call(['CLIENT', 'UNPAUSE'])).toBe('+OK\r\n');
  });
});

describe('workers', () => {
  it('serves with two workers and sums their metrics', async () => {
    const ports = { proxy: await freePort(), upstream: redis.port };
    const metricsPort = await freePort();
    const file = configs.write('workers.yaml', config(ports, `workers: 2\nmetrics: { host: 127.0.0.1, port: ${metricsPort} }\nlog: { level: debug }\n`));
    const proxy = startProxy(file);
    const started = await proxy.waitForLogs({ event: 'worker_start', msg: 'worker started' }, 2);
    await waitForPort(metricsPort);

    const clients: RawClient[] = [];
    for (let i = 0; i < 10; i++) {
      const client = await RawClient.connect(ports.proxy);
      clients.push(client);
      expect(await client.call(['AUTH', 'app', 'app-pw'])).toBe('+OK\r\n');
      expect(await client.call(['SET', `worker:${i}`, 'v'])).toBe('+OK\r\n');
    }
    const servedBy = new Set(proxy.matching({ msg: 'authenticated' }).map((line) => line.pid));
    expect(servedBy).toEqual(new Set(started.map((line) => line.pid)));

    const lines = await metricsLines(metricsPort);
    expect(lines).toContain('respguard_commands_total{user="app",command="set",result="allowed"} 10');
    expect(lines).toContain('respguard_authentications_total{user="app",result="success"} 10');
    expect(lines).toContain(`respguard_client_connections{listener="127.0.0.1:${ports.proxy}"} 10`);
    expect(lines).toContain('respguard_upstream_connections 4');
    expect(lines).toContain('respguard_worker_restarts_total 0');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
    for (const client of clients) client.close();

    proxy.signal('SIGHUP');
    const reloads = await proxy.waitForLogs({ event: 'reload', result: 'ok', msg: 'config reload applied' }, 2);
    expect(new Set(reloads.map((line) => line.pid)).size).toBe(2);

    process.kill(Number(started[0]!.pid), 'SIGKILL');
    const [exit] = await proxy.waitForLogs({ event: 'worker_exit' });
    expect(exit).toMatchObject({ level: 50, pid: started[0]!.pid, code: null, signal: 'SIGKILL', msg: 'worker exited; starting a replacement' });
    await proxy.waitForLogs({ event: 'worker_start', msg: 'worker started' }, 3);
    expect(await metricsLines(metricsPort)).toContain('respguard_worker_restarts_total 1');
    const client = await RawClient.connect(ports.proxy);
    expect(await client.call(['AUTH', 'app', 'app-pw'])).toBe('+OK\r\n');
    client.close();

    proxy.signal('SIGTERM');
    expect(await proxy.exited()).toEqual({ code: 0, signal: null });
    await expect(RawClient.connect(ports.proxy)).rejects.toThrow('ECONNREFUSED');
  });

  it('passes on a worker\'s not-ready reason', async () => {
    // Nothing listens on the cluster seed, so no worker reads a slot map.
    const metricsPort = await freePort();
    const yaml =
      `listeners:\n  - { host: 127.0.0.1, port: ${await freePort()} }\n` +
      `upstream: { mode: cluster, nodes: ["127.0.0.1:${await freePort()}"], pool: { size: 1 } }\n` +
      `users:\n  app: { acl: "on >app-pw ~* +@all" }\nworkers: 2\nmetrics: { host: 127.0.0.1, port: ${metricsPort} }\n`;
    const proxy = startProxy(configs.write('workers-down.yaml', yaml));
    await proxy.waitForLogs({ event: 'worker_start', msg: 'worker started' }, 2);
    await waitForPort(metricsPort);

    const response = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('not ready: the cluster slot map is not known yet\n');

    proxy.signal('SIGTERM');
    expect(await proxy.exited()).toEqual({ code: 0, signal: null });
  });

  it('exits 1 when workers cannot listen', async () => {
    const ports = { proxy: redis.port, upstream: redis.port };
    const proxy = startProxy(configs.write('busy.yaml', config(ports, 'workers: 2\n')));
    expect(await proxy.exited()).toEqual({ code: 1, signal: null });
    expect(proxy.stderr).toContain(`cannot listen on 127.0.0.1:${redis.port}: the address is already in use`);
    expect(proxy.matching({ msg: 'a worker process failed to start; stopping' }).length).toBe(1);
  });
});
