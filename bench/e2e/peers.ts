/**
 * The side-by-side benchmark: Redis directly, twemproxy, HAProxy (TCP and TLS) and respguard
 * (one process plaintext and TLS, the 50-rule user, and 2 workers), measured with
 * redis-benchmark on loopback in one run. Targets are interleaved: every round runs each
 * target once per pipeline depth, in an order rotated by one each round, so that machine noise
 * spreads over all targets alike. The report gives medians over rounds and ratios of the
 * medians.
 *
 * Usage: node --import tsx bench/e2e/peers.ts [--quick] [--rounds N] [--requests N]
 *          [--targets a,b,...] [--pool-size N] [--out FILE.md] [--json FILE.json] [--keep]
 * (`bash bench/e2e/peers.sh` checks the Debian packages first and then runs this.)
 * --pool-size sets respguard's upstream.pool.size; without it respguard's default applies.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { commandExists, killAllServicesNow, loadAverage, stopAllServices } from '../lib/processes.js';
import { buildSnapshot } from '../lib/respguard.js';
import { describeMachine } from './machine.js';
import { CLIENTS, KEY_SPACE, VALUE_BYTES, measure, type RunResult } from './redis-benchmark.js';
import { goalsTable, median, ratioTable, resultsTable, Runs } from './report.js';
import { startTargets, TARGET_NAMES, type Bench, type Target, type TargetName } from './targets.js';

const PIPELINES = [1, 16] as const;
/** Depth 16 finishes a run about this many times faster, so it gets this many more requests. */
const PIPELINED_REQUEST_FACTOR = 4;

interface Options {
  readonly rounds: number;
  readonly requests: number;
  readonly targets: readonly TargetName[];
  readonly poolSize?: number;
  readonly out?: string;
  readonly json?: string;
  readonly keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      requests: { type: 'string' },
      targets: { type: 'string' },
      'pool-size': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const integer = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${text}"`);
    return n;
  };
  const targets = values.targets === undefined ? [...TARGET_NAMES] : values.targets.split(',').map((name) => name.trim());
  for (const name of targets) {
    if (!(TARGET_NAMES as readonly string[]).includes(name)) throw new Error(`unknown target "${name}"; targets are ${TARGET_NAMES.join(', ')}`);
  }
  return {
    rounds: integer('rounds', values.rounds, values.quick ? 2 : 7),
    requests: integer('requests', values.requests, values.quick ? 10_000 : 50_000),
    targets: targets as TargetName[],
    keep: values.keep,
    ...(values['pool-size'] !== undefined ? { poolSize: integer('pool-size', values['pool-size'], 0) } : {}),
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.json !== undefined ? { json: values.json } : {}),
  };
}

/** Names the Debian packages of missing tools; the harness cannot run without them. */
function checkTools(targets: readonly TargetName[]): void {
  const needed: [string, string][] = [
    ['redis-server', 'redis-server'],
    ['redis-benchmark', 'redis-tools'],
    ['openssl', 'openssl'],
  ];
  if (targets.includes('twemproxy')) needed.push(['nutcracker', 'nutcracker']);
  if (targets.some((name) => name.startsWith('haproxy'))) needed.push(['haproxy', 'haproxy']);
  const missing = needed.filter(([command]) => !commandExists(command));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    throw new Error(`missing ${missing.map(([command]) => command).join(', ')}; install them with: apt-get install -y ${packages}`);
  }
}

/** Rotates `items` left by `by`, so each round starts with another target. */
function rotated<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function requestsFor(options: Options, pipeline: number): number {
  return pipeline === 1 ? options.requests : options.requests * PIPELINED_REQUEST_FACTOR;
}

/** Runs each target once per depth, briefly and unrecorded, to warm up the JIT and to check that every target replies. */
async function warmUp(bench: Bench, options: Options): Promise<void> {
  for (const target of bench.targets) {
    for (const pipeline of PIPELINES) {
      const requests = Math.max(2_000, Math.floor(requestsFor(options, pipeline) / 10));
      await measure(target, bench.redis, pipeline, requests, 0, bench.certificates.caCert);
    }
  }
}

async function runRounds(bench: Bench, options: Options): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const started = Date.now();
    for (const pipeline of PIPELINES) {
      for (const target of rotated<Target>(bench.targets, round - 1)) {
        results.push(await measure(target, bench.redis, pipeline, requestsFor(options, pipeline), round, bench.certificates.caCert));
      }
    }
    process.stderr.write(`round ${round} of ${options.rounds} done in ${((Date.now() - started) / 1000).toFixed(0)} s, load ${loadAverage().toFixed(2)}\n`);
  }
  return results;
}

function report(options: Options, argv: readonly string[], results: RunResult[], machine: string, seconds: number): string {
  const runs = new Runs(results);
  const targets = options.targets.filter((name) => runs.has(name));
  const loads = results.map((run) => run.load);
  const others = results.map((run) => run.otherCpuShare * 100);
  const command = ['bash bench/e2e/peers.sh', ...argv].join(' ');
  return [
    machine,
    '',
    `Command: \`${command}\` (${options.rounds} rounds, ${options.requests} requests per test at P=1 and ` +
      `${options.requests * PIPELINED_REQUEST_FACTOR} at P=16; ${CLIENTS} clients, ${VALUE_BYTES}-byte values, ` +
      `random keys out of ${KEY_SPACE.toLocaleString('en-US')}; took ${Math.round(seconds)} s).`,
    `Load average (1 min) at the start of each run: median ${median(loads).toFixed(2)}, highest ${Math.max(...loads).toFixed(2)}. ` +
      `Processes outside the benchmark used a median ${median(others).toFixed(0)}% (highest ${Math.max(...others).toFixed(0)}%) of the machine's CPU during the runs.`,
    '',
    '### Medians',
    '',
    resultsTable(runs, targets, PIPELINES),
    '',
    '### respguard against the peers (ratios of medians)',
    '',
    ratioTable(runs, targets, PIPELINES),
    '',
    '### Targets',
    '',
    goalsTable(runs),
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  checkTools(options.targets);
  const dir = mkdtempSync(path.join(tmpdir(), 'respguard-bench-'));
  const started = Date.now();
  try {
    process.stderr.write(`building respguard into ${dir}\n`);
    const bin = buildSnapshot(path.join(dir, 'respguard'));
    const bench = await startTargets(dir, { bin, ...(options.poolSize !== undefined ? { poolSize: options.poolSize } : {}) }, options.targets);
    const machine = describeMachine(bench.targets);
    process.stderr.write(`targets: ${bench.targets.map((target) => `${target.name} (${target.setup})`).join('; ')}\nwarming up\n`);
    await warmUp(bench, options);
    const results = await runRounds(bench, options);
    await stopAllServices();
    const text = report(options, argv, results, machine, (Date.now() - started) / 1000);
    process.stdout.write(text);
    if (options.out) writeFileSync(options.out, text);
    if (options.json) writeFileSync(options.json, `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await stopAllServices();
    if (options.keep) process.stderr.write(`logs and configs kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

process.on('exit', killAllServicesNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void stopAllServices().finally(() => process.exit(130));
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`peers: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
