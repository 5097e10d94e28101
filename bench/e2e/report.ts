/**
 * Turns the runs of the side-by-side benchmark into Markdown: medians per target and pipeline
 * depth, respguard's ratios against each peer measured in the same run, and each performance
 * target of respguard with its measured ratio and whether it is met.
 *
 * Ratios are ratios of medians. Next to each target's ratio the report gives the range of the
 * per-round ratios (both runs from the same round), which shows how much machine noise moved it.
 */
import { TESTS, type RunResult, type TestName } from './redis-benchmark.js';

type Metric = 'rps' | 'p50' | 'p99' | 'proxyCpu' | 'proxySystem' | 'redisCpu' | 'clientCpu';

/** Returns the median of `values`, or NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function value(run: RunResult, metric: Metric, test: TestName): number | undefined {
  switch (metric) {
    case 'rps':
      return run.tests[test].rps;
    case 'p50':
      return run.tests[test].p50Ms;
    case 'p99':
      return run.tests[test].p99Ms;
    case 'proxyCpu':
      return run.proxyCpuUs;
    case 'proxySystem':
      return run.proxySystemUs;
    case 'redisCpu':
      return run.redisCpuUs;
    case 'clientCpu':
      return run.clientCpuUs;
  }
}

/** The runs of the benchmark, looked up by target and pipeline depth. */
export class Runs {
  constructor(readonly all: readonly RunResult[]) {}

  of(target: string, pipeline: number): RunResult[] {
    return this.all.filter((run) => run.target === target && run.pipeline === pipeline);
  }

  has(target: string): boolean {
    return this.all.some((run) => run.target === target);
  }

  median(target: string, pipeline: number, metric: Metric, test: TestName = 'SET'): number {
    const values = this.of(target, pipeline).map((run) => value(run, metric, test)).filter((v): v is number => v !== undefined);
    return median(values);
  }

  ratio(subject: string, reference: string, pipeline: number, metric: Metric, test: TestName = 'SET'): number {
    return this.median(subject, pipeline, metric, test) / this.median(reference, pipeline, metric, test);
  }

  /** Lowest and highest ratio of runs of the same round. */
  roundRange(subject: string, reference: string, pipeline: number, metric: Metric, test: TestName): [number, number] {
    const ratios: number[] = [];
    for (const run of this.of(subject, pipeline)) {
      const other = this.of(reference, pipeline).find((candidate) => candidate.round === run.round);
      const a = value(run, metric, test);
      const b = other ? value(other, metric, test) : undefined;
      if (a !== undefined && b !== undefined) ratios.push(a / b);
    }
    return [Math.min(...ratios), Math.max(...ratios)];
  }
}

const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const thousands = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');

/** Formats the table of medians: throughput, latency and CPU per request of every target and depth. */
export function resultsTable(runs: Runs, targets: readonly string[], pipelines: readonly number[]): string {
  const lines = [
    '| target | P | SET rps | GET rps | SET p50 / p99 ms | GET p50 / p99 ms | proxy CPU µs/req (kernel part) | Redis CPU µs/req | client CPU µs/req | rounds |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const target of targets) {
    for (const pipeline of pipelines) {
      const m = (metric: Metric, test: TestName = 'SET'): number => runs.median(target, pipeline, metric, test);
      const latency = (test: TestName): string => `${fixed(m('p50', test), 3)} / ${fixed(m('p99', test), 3)}`;
      lines.push(
        `| ${target} | ${pipeline} | ${thousands(m('rps'))} | ${thousands(m('rps', 'GET'))} | ${latency('SET')} | ${latency('GET')} | ` +
          `${fixed(m('proxyCpu'), 1)} (${fixed(m('proxySystem'), 1)}) | ${fixed(m('redisCpu'), 1)} | ${fixed(m('clientCpu'), 1)} | ${runs.of(target, pipeline).length} |`,
      );
    }
  }
  return lines.join('\n');
}

/** Ratio of the SET and GET medians, as `SET / GET`. */
function pair(runs: Runs, subject: string, reference: string, pipeline: number, metric: Metric): string {
  if (!runs.has(reference)) return '–';
  return TESTS.map((test) => fixed(runs.ratio(subject, reference, pipeline, metric, test), 2)).join(' / ');
}

/** Returns the HAProxy frontend to compare a respguard target with: TLS termination for a TLS target. */
function haproxyFor(target: string): string {
  return target.includes('tls') ? 'haproxy-tls' : 'haproxy-tcp';
}

/** Formats respguard's ratios against direct Redis, twemproxy and HAProxy, per target and depth. */
export function ratioTable(runs: Runs, targets: readonly string[], pipelines: readonly number[]): string {
  const lines = [
    '| respguard target | P | rps vs direct | rps vs twemproxy | rps vs HAProxy | p99 vs twemproxy | p99 vs HAProxy | proxy CPU vs twemproxy | proxy CPU vs HAProxy | Redis CPU vs twemproxy |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const target of targets.filter((name) => name.startsWith('respguard'))) {
    const haproxy = haproxyFor(target);
    for (const pipeline of pipelines) {
      const cpu = (reference: string, metric: Metric): string => (runs.has(reference) ? fixed(runs.ratio(target, reference, pipeline, metric), 2) : '–');
      lines.push(
        `| ${target} | ${pipeline} | ${pair(runs, target, 'direct', pipeline, 'rps')} | ${pair(runs, target, 'twemproxy', pipeline, 'rps')} | ` +
          `${pair(runs, target, haproxy, pipeline, 'rps')} | ${pair(runs, target, 'twemproxy', pipeline, 'p99')} | ${pair(runs, target, haproxy, pipeline, 'p99')} | ` +
          `${cpu('twemproxy', 'proxyCpu')} | ${cpu(haproxy, 'proxyCpu')} | ${cpu('twemproxy', 'redisCpu')} |`,
      );
    }
  }
  lines.push('', 'Each cell is `SET / GET` where two values are shown. HAProxy is haproxy-tls for TLS targets and haproxy-tcp otherwise.');
  return lines.join('\n');
}

/** One performance target: `subject` against `reference` on `metric`, bounded by `bound`. */
interface Goal {
  readonly label: string;
  readonly subject: string;
  readonly reference: string;
  readonly pipeline: number;
  readonly metric: Metric;
  readonly bound: number;
  /** `min`: the ratio must be at least `bound`; `max`: at most. */
  readonly kind: 'min' | 'max';
  /** CPU is measured per run, not per test, so it has one value. */
  readonly perRun?: boolean;
}

function goalsFor(subject: string, tls: string | null, realistic: string | null): Goal[] {
  const goals: Goal[] = [
    { label: 'plaintext P=1 rps ≥ 1.0× twemproxy', subject, reference: 'twemproxy', pipeline: 1, metric: 'rps', bound: 1.0, kind: 'min' },
    { label: 'plaintext P=1 rps ≥ 1.4× HAProxy TCP', subject, reference: 'haproxy-tcp', pipeline: 1, metric: 'rps', bound: 1.4, kind: 'min' },
    { label: 'plaintext P=1 proxy CPU/req ≤ 1.2× twemproxy', subject, reference: 'twemproxy', pipeline: 1, metric: 'proxyCpu', bound: 1.2, kind: 'max', perRun: true },
    { label: 'plaintext P=16 rps ≥ 1.5× twemproxy', subject, reference: 'twemproxy', pipeline: 16, metric: 'rps', bound: 1.5, kind: 'min' },
    { label: 'P=1 p99 ≤ twemproxy', subject, reference: 'twemproxy', pipeline: 1, metric: 'p99', bound: 1.0, kind: 'max' },
  ];
  if (tls) {
    goals.push({ label: 'TLS P=1 rps ≥ 1.3× HAProxy TLS', subject: tls, reference: 'haproxy-tls', pipeline: 1, metric: 'rps', bound: 1.3, kind: 'min' });
    goals.push({ label: 'TLS P=16 rps ≥ 1.3× HAProxy TLS', subject: tls, reference: 'haproxy-tls', pipeline: 16, metric: 'rps', bound: 1.3, kind: 'min' });
  }
  if (realistic) {
    for (const pipeline of [1, 16]) {
      goals.push({ label: `50-rule user P=${pipeline} rps ≥ 0.95× +@all user`, subject: realistic, reference: subject, pipeline, metric: 'rps', bound: 0.95, kind: 'min' });
    }
  }
  return goals;
}

function goalRow(runs: Runs, goal: Goal): string | null {
  if (!runs.has(goal.subject) || !runs.has(goal.reference) || runs.of(goal.subject, goal.pipeline).length === 0) return null;
  const tests: readonly TestName[] = goal.perRun ? ['SET'] : TESTS;
  const ratios = tests.map((test) => runs.ratio(goal.subject, goal.reference, goal.pipeline, goal.metric, test));
  const ranges = tests.map((test) => runs.roundRange(goal.subject, goal.reference, goal.pipeline, goal.metric, test));
  const met = ratios.every((ratio) => (goal.kind === 'min' ? ratio >= goal.bound : ratio <= goal.bound));
  const measured = ratios.map((ratio) => fixed(ratio, 2)).join(' / ');
  const spread = ranges.map(([low, high]) => `${fixed(low, 2)}–${fixed(high, 2)}`).join(' / ');
  return `| ${goal.label} | ${goal.subject} vs ${goal.reference} | ${measured} | ${spread} | ${met ? 'met' : '**not met**'} |`;
}

/** Formats the performance targets with their measured ratios, for one process and for 2 workers. */
export function goalsTable(runs: Runs): string {
  const lines = [
    '| target | compared | ratio (SET / GET) | per-round range | result |',
    '|---|---|--:|--:|---|',
  ];
  const goals = [...goalsFor('respguard', 'respguard-tls', 'respguard-app'), ...goalsFor('respguard-2w', 'respguard-tls-2w', null)];
  for (const goal of goals) {
    const row = goalRow(runs, goal);
    if (row) lines.push(row);
  }
  lines.push('', 'CPU rows have one value: CPU time is read per run, over both tests.');
  return lines.join('\n');
}
