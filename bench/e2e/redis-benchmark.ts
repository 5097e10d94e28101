/**
 * One measurement: a redis-benchmark run against one target (SET then GET, 50 clients, 64-byte
 * values, random keys out of 100,000). Around the run, /proc gives the CPU time that the proxy,
 * Redis and redis-benchmark used. The machine's busy time in the same interval, minus those
 * three, is what other processes took, which shows how much a shared machine disturbed the run.
 */
import { spawn } from 'node:child_process';
import { CLOCK_TICKS, exitedChildrenCpuTicks, loadAverage, machineCpuTicks, treeCpuTicks, type CpuTicks, type Service } from '../lib/processes.js';
import type { Target } from './targets.js';

export const CLIENTS = 50;
export const VALUE_BYTES = 64;
export const KEY_SPACE = 100_000;
export const TESTS = ['SET', 'GET'] as const;
export type TestName = (typeof TESTS)[number];

/** Latency and throughput of one test, as redis-benchmark's CSV reports them. */
export interface TestResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** One redis-benchmark run of both tests against one target. */
export interface RunResult {
  readonly target: string;
  readonly pipeline: number;
  readonly round: number;
  readonly requestsPerTest: number;
  readonly tests: Readonly<Record<TestName, TestResult>>;
  /** Proxy CPU time per request, over both tests, in µs; absent for direct Redis. */
  readonly proxyCpuUs?: number;
  /** The part of `proxyCpuUs` spent in the kernel (system time). */
  readonly proxySystemUs?: number;
  readonly redisCpuUs: number;
  /** CPU time of redis-benchmark itself per request, in µs. */
  readonly clientCpuUs: number;
  /**
   * Share of the machine's CPU capacity that processes outside the benchmark (other users of a
   * shared machine) used during the run, from 0 to 1.
   */
  readonly otherCpuShare: number;
  /** 1-minute load average when the run started. */
  readonly load: number;
}

/** Builds the redis-benchmark arguments for one run. */
export function benchmarkArgs(target: Target, pipeline: number, requests: number, caCert: string): string[] {
  const args = ['-h', '127.0.0.1', '-p', String(target.port), '-c', String(CLIENTS), '-d', String(VALUE_BYTES)];
  args.push('-r', String(KEY_SPACE), '-t', 'set,get', '-n', String(requests), '-P', String(pipeline), '--csv');
  if (target.user !== undefined) args.push('--user', target.user);
  args.push('-a', target.password);
  if (target.tls) args.push('--tls', '--cacert', caCert);
  return args;
}

/** Parses redis-benchmark's `--csv` output: a header, then one line per test. */
export function parseCsv(output: string): Partial<Record<TestName, TestResult>> {
  const results: Partial<Record<TestName, TestResult>> = {};
  for (const line of output.split('\n')) {
    const fields = line.trim().split(',').map((field) => field.replace(/^"|"$/g, ''));
    const test = fields[0] as TestName;
    if (!TESTS.includes(test)) continue;
    // Columns: test, rps, avg, min, p50, p95, p99, max (latencies in ms).
    results[test] = { rps: Number(fields[1]), p50Ms: Number(fields[4]), p99Ms: Number(fields[6]) };
  }
  return results;
}

function run(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function microsecondsPerRequest(ticks: number, requests: number): number {
  return (ticks * 1e6) / CLOCK_TICKS / requests;
}

/**
 * Runs redis-benchmark once against `target`. Throws with redis-benchmark's output when it fails
 * or reports fewer tests than asked for (an error reply from the target ends it early).
 */
export async function measure(target: Target, redis: Service, pipeline: number, requests: number, round: number, caCert: string): Promise<RunResult> {
  const load = loadAverage();
  const noTicks: CpuTicks = { user: 0, system: 0 };
  const proxyBefore = target.proxy ? treeCpuTicks(target.proxy.pid) : noTicks;
  const redisBefore = treeCpuTicks(redis.pid);
  const clientBefore = exitedChildrenCpuTicks();
  const machineBefore = machineCpuTicks();
  const output = await run(benchmarkArgs(target, pipeline, requests, caCert), 600_000);
  const machineAfter = machineCpuTicks();
  const clientTicks = exitedChildrenCpuTicks() - clientBefore;
  const redisAfter = treeCpuTicks(redis.pid);
  const proxyAfter = target.proxy ? treeCpuTicks(target.proxy.pid) : noTicks;

  const parsed = parseCsv(output.stdout);
  if (output.code !== 0 || !parsed.SET || !parsed.GET) {
    throw new Error(`redis-benchmark against ${target.name} (P=${pipeline}) failed with exit code ${output.code}:\n${output.stdout}${output.stderr}`);
  }
  const total = requests * TESTS.length;
  const proxyUser = proxyAfter.user - proxyBefore.user;
  const proxySystem = proxyAfter.system - proxyBefore.system;
  const redisTicks = redisAfter.user + redisAfter.system - redisBefore.user - redisBefore.system;
  const ownTicks = proxyUser + proxySystem + redisTicks + clientTicks;
  const otherTicks = Math.max(0, machineAfter.busy - machineBefore.busy - ownTicks);
  return {
    target: target.name,
    pipeline,
    round,
    requestsPerTest: requests,
    tests: { SET: parsed.SET, GET: parsed.GET },
    ...(target.proxy
      ? { proxyCpuUs: microsecondsPerRequest(proxyUser + proxySystem, total), proxySystemUs: microsecondsPerRequest(proxySystem, total) }
      : {}),
    redisCpuUs: microsecondsPerRequest(redisTicks, total),
    clientCpuUs: microsecondsPerRequest(clientTicks, total),
    otherCpuShare: otherTicks / (machineAfter.total - machineBefore.total),
    load,
  };
}
