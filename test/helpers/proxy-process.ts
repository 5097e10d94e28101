/**
 * Starts respguard as a child process through its real command line (`run --config FILE`), in
 * front of a test's redis-server, for tests and scripts that must watch the proxy from outside:
 * whether it crashes, how much memory it holds, and what its metrics report. The child's
 * memory is read from /proc, so this helper works on Linux only.
 *
 * Every child serves its metrics listener on a free loopback port. The helper waits for
 * /readyz before it returns, so a caller never races the upstream pool's first connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type RedisServer } from './redis-server.js';

const ENTRY = fileURLToPath(new URL('./respguard-entry.ts', import.meta.url));
const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));
/** Lines of the child's output kept for error messages and reports. */
const OUTPUT_LINES_KEPT = 200;

export interface ProxyProcessOptions {
  /** Users as name -> ACL rule string. */
  users: Record<string, string>;
  /** YAML lines appended at the top level (limits:, blockCommands:, ...). */
  extraYaml?: string;
  /** YAML lines appended inside `upstream:`, indented by two spaces (`  commandTimeoutMs: 500\n`). */
  upstreamYaml?: string;
  poolSize?: number;
  /** Log level of the child; default `warn`, so that load does not flood the captured output. */
  logLevel?: string;
  /** Time allowed for the start, in ms; default 30 s, because tsx compiles the sources first. */
  startTimeoutMs?: number;
}

/** Resident memory of a process, from /proc/PID/status. */
export interface ProcessMemory {
  /** Resident set size now (VmRSS), in bytes. */
  rssBytes: number;
  /** Highest resident set size since the process started (VmHWM), in bytes. */
  peakRssBytes: number;
}

export interface ProxyProcess {
  readonly port: number;
  readonly metricsPort: number;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves when the child exits, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the child is still running. */
  alive(): boolean;
  /** The last lines that the child wrote to standard output and error. */
  output(): string;
  memory(): ProcessMemory;
  /** Scrapes /metrics and returns each sample's value summed over its labels, by metric name. */
  metrics(): Promise<Map<string, number>>;
  /** Sends SIGTERM, waits for the exit (SIGKILL after 5 s) and removes the config directory. */
  stop(): Promise<void>;
}

/** Starts `respguard run` in a child process in front of `upstream`. */
export async function startProxyProcess(upstream: RedisServer, options: ProxyProcessOptions): Promise<ProxyProcess> {
  const [port, metricsPort] = await Promise.all([freePort(), freePort()]);
  const dir = mkdtempSync(path.join(tmpdir(), 'respguard-proc-'));
  const configFile = path.join(dir, 'respguard.yaml');
  writeFileSync(configFile, configYaml(upstream, options, port, metricsPort));

  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'run', '--config', configFile], {
    cwd: REPOSITORY,
    env: { ...process.env, UPSTREAM_PASSWORD: upstream.password ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
    if (lines.length > OUTPUT_LINES_KEPT) lines.splice(0, lines.length - OUTPUT_LINES_KEPT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;

  const stop = async (): Promise<void> => {
    if (alive()) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitUntilReady(metricsPort, options.startTimeoutMs ?? 30_000, alive);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\nrespguard output:\n${lines.join('\n')}`);
  }
  return {
    port,
    metricsPort,
    pid: child.pid!,
    process: child,
    exited,
    alive,
    output: () => lines.join('\n'),
    memory: () => processMemory(child.pid!),
    metrics: () => scrapeMetrics(metricsPort),
    stop,
  };
}

function configYaml(upstream: RedisServer, options: ProxyProcessOptions, port: number, metricsPort: number): string {
  const users = Object.entries(options.users)
    .map(([name, acl]) => `  ${name}:\n    acl: ${JSON.stringify(acl)}\n`)
    .join('');
  return (
    `listeners:\n  - host: 127.0.0.1\n    port: ${port}\n` +
    `upstream:\n  host: 127.0.0.1\n  port: ${upstream.port}\n` +
    (upstream.password ? `  password: \${UPSTREAM_PASSWORD}\n` : '') +
    `  pool:\n    size: ${options.poolSize ?? 2}\n` +
    (options.upstreamYaml ?? '') +
    `metrics:\n  host: 127.0.0.1\n  port: ${metricsPort}\n` +
    `log:\n  level: ${options.logLevel ?? 'warn'}\n` +
    `users:\n${users}` +
    (options.extraYaml ?? '')
  );
}

/** Reads VmRSS and VmHWM of a process. Throws when the process is gone. */
export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${name} line`);
    return Number(match[1]) * 1024;
  };
  return { rssBytes: field('VmRSS'), peakRssBytes: field('VmHWM') };
}

function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 5000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${urlPath} timed out`)));
    request.on('error', reject);
  });
}

/** Parses the Prometheus text format into sums by metric name; histogram series keep their suffixes. */
export function parseMetrics(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    sums.set(match[1]!, (sums.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return sums;
}

async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  const { status, body } = await httpGet(port, '/metrics');
  if (status !== 200) throw new Error(`GET /metrics returned ${status}: ${body}`);
  return parseMetrics(body);
}

async function waitUntilReady(metricsPort: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error('respguard exited during its start');
    const ready = await httpGet(metricsPort, '/readyz').then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`respguard was not ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
