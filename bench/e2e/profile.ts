/**
 * CPU profile of respguard under load: builds respguard, runs it in front of a private
 * redis-server, drives it with the same redis-benchmark load as the side-by-side benchmark and
 * prints where its time goes.
 *
 * `--profiler v8` (the default) runs respguard under `node --cpu-prof`, stops it with SIGTERM
 * so that Node.js writes the profile, and prints the functions with the most self time and the
 * files they are in. `--profiler perf` records on-CPU samples with Linux perf instead (see
 * bench/lib/perf.ts for why both exist).
 *
 * Usage: node --import tsx bench/e2e/profile.ts [--profiler v8|perf] [--pipeline N]
 *          [--user all|app] [--tls] [--requests N] [--top N] [--keep]
 * (defaults: v8, pipeline 1, the 50-rule user `app`, plaintext, 200,000 requests per test, top 25).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_PASSWORD } from '../fixtures/realistic-policy.js';
import { makeCertificates } from '../lib/certificates.js';
import { fileTable, profileTable, summarizeProfile } from '../lib/cpuprofile.js';
import { perfTables, startPerf, stopPerf } from '../lib/perf.js';
import { commandExists, freePort, killAllServicesNow, startService, stopAllServices, stopService, waitForPort, type Service } from '../lib/processes.js';
import { benchConfig, buildSnapshot, sourceRevision, USERS } from '../lib/respguard.js';
import { measure, type RunResult } from './redis-benchmark.js';
import { UPSTREAM_PASSWORD, type Target } from './targets.js';

/** Sampling interval of V8's profiler in µs; its default of 1000 gives too few samples per run. */
const SAMPLING_INTERVAL_US = 250;

interface Options {
  readonly profiler: 'v8' | 'perf';
  readonly pipeline: number;
  readonly user: string;
  readonly tls: boolean;
  readonly requests: number;
  readonly top: number;
  readonly keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      profiler: { type: 'string', default: 'v8' },
      pipeline: { type: 'string', default: '1' },
      user: { type: 'string', default: 'app' },
      tls: { type: 'boolean', default: false },
      requests: { type: 'string', default: '200000' },
      top: { type: 'string', default: '25' },
      keep: { type: 'boolean', default: false },
    },
  });
  if (values.profiler !== 'v8' && values.profiler !== 'perf') throw new Error(`--profiler must be "v8" or "perf", got "${values.profiler}"`);
  if (values.profiler === 'perf' && !commandExists('perf')) throw new Error('--profiler perf needs the perf command (Debian package linux-perf)');
  if (values.user !== 'all' && values.user !== 'app') throw new Error(`--user must be "all" or "app", got "${values.user}"`);
  const integer = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
    return n;
  };
  return {
    profiler: values.profiler,
    pipeline: integer('pipeline', values.pipeline),
    user: values.user === 'all' ? USERS.all : USERS.realistic,
    tls: values.tls,
    requests: integer('requests', values.requests),
    top: integer('top', values.top),
    keep: values.keep,
  };
}

/** Starts Redis and respguard (under the V8 profiler when asked) and returns them with the target to load. */
async function startProxy(dir: string, snapshot: string, options: Options): Promise<{ redis: Service; target: Target; caCert: string }> {
  const bin = buildSnapshot(snapshot);
  const certificates = makeCertificates(dir);
  const redisPort = await freePort();
  const redisArgs = ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--requirepass', UPSTREAM_PASSWORD];
  const redis = startService('redis', 'redis-server', redisArgs, path.join(dir, 'redis.log'));
  await waitForPort(redis, redisPort);

  const port = await freePort();
  const listener = options.tls ? { port, tls: { cert: certificates.cert, key: certificates.key } } : { port };
  const configFile = path.join(dir, 'respguard.yaml');
  writeFileSync(configFile, benchConfig({ listeners: [listener], upstreamPort: redisPort, upstreamPassword: UPSTREAM_PASSWORD }));
  const profilerArgs =
    options.profiler === 'v8'
      ? ['--cpu-prof', '--cpu-prof-dir', path.join(dir, 'profile'), '--cpu-prof-interval', String(SAMPLING_INTERVAL_US)]
      : ['--perf-basic-prof'];
  const proxy = startService('respguard', process.execPath, [...profilerArgs, bin, '--config', configFile], path.join(dir, 'respguard.log'));
  await waitForPort(proxy, port);
  const target: Target = { name: 'respguard', kind: 'respguard', port, tls: options.tls, user: options.user, password: BENCH_PASSWORD, proxy, setup: '' };
  return { redis, target, caCert: certificates.caCert };
}

function v8Tables(dir: string, snapshot: string, top: number): string {
  const profileDir = path.join(dir, 'profile');
  const files = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'));
  if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${profileDir}, found ${files.length}`);
  const summary = summarizeProfile(path.join(profileDir, files[0]!), snapshot);
  return [
    `Busy ${(summary.busyUs / 1e6).toFixed(1)} s, idle ${(summary.idleUs / 1e6).toFixed(1)} s (start and warm-up included); shares are of busy time.`,
    '',
    profileTable(summary, top),
    '',
    fileTable(summary, 15),
  ].join('\n');
}

function heading(options: Options, run: RunResult): string {
  return (
    `${options.profiler === 'v8' ? 'V8 CPU profile' : 'perf on-CPU profile'} of respguard ${sourceRevision()}, user ${options.user}, ` +
    `${options.tls ? 'TLS' : 'plaintext'}, P=${options.pipeline}, ${options.requests} SET and ${options.requests} GET after a warm-up run; ` +
    `SET ${Math.round(run.tests.SET.rps)} rps, GET ${Math.round(run.tests.GET.rps)} rps, ` +
    `proxy CPU ${run.proxyCpuUs!.toFixed(1)} µs/request (${run.proxySystemUs!.toFixed(1)} in the kernel).`
  );
}

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  const dir = mkdtempSync(path.join(tmpdir(), 'respguard-profile-'));
  const snapshot = path.join(dir, 'respguard');
  try {
    const { redis, target, caCert } = await startProxy(dir, snapshot, options);
    await measure(target, redis, options.pipeline, Math.max(2_000, Math.floor(options.requests / 10)), 0, caCert);
    const perfFile = path.join(dir, 'perf.data');
    const perf = options.profiler === 'perf' ? startPerf(target.proxy!.pid, perfFile) : null;
    const run = await measure(target, redis, options.pipeline, options.requests, 1, caCert);
    if (perf) await stopPerf(perf);
    await stopService(target.proxy!);
    await stopService(redis);

    const tables = options.profiler === 'v8' ? v8Tables(dir, snapshot, options.top) : perfTables(perfFile, options.top, `file://${snapshot}/`);
    process.stdout.write(`${heading(options, run)}\n\n${tables}\n`);
    if (options.keep) process.stderr.write(`profile kept in ${dir}\n`);
  } finally {
    await stopAllServices();
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}

process.on('exit', killAllServicesNow);
main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`profile: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
