/**
 * Micro-benchmarks of the per-command metrics path: the observer's commandDone, which every
 * command calls, against prom-client's own labelled counter and histogram.
 * Run with `npx vitest bench --run bench/micro/metrics.bench.ts`.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { bench, describe } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { createMetricsObserver } from '../../src/observability/metrics-observer.js';
import type { CommandResult } from '../../src/observability/observer.js';

const USERS = ['app_reader', 'app_writer', 'billing', 'unauthenticated'];
const COMMANDS = ['get', 'set', 'mget', 'hgetall', 'incr', 'expire', 'del', 'client|setname'];
const RESULTS: CommandResult[] = ['allowed', 'allowed', 'allowed', 'denied'];
const CALLS = 10_000;

/** The label values of CALLS commands, cycling through a small policy as a busy proxy would. */
const calls = Array.from({ length: CALLS }, (_, i) => ({
  user: USERS[i % USERS.length]!,
  command: COMMANDS[i % COMMANDS.length]!,
  result: RESULTS[i % RESULTS.length]!,
  proxyNs: 8_000 + (i % 50) * 1_000,
  upstreamNs: 150_000 + (i % 100) * 5_000,
}));

const observer = createMetricsObserver(createLogger('silent'), { processMetrics: false });

const registry = new Registry();
const promCounter = new Counter({ name: 'bench_commands_total', help: 'bench', labelNames: ['user', 'command', 'result'], registers: [registry] });
const promProxy = new Histogram({ name: 'bench_proxy_seconds', help: 'bench', buckets: [0.00001, 0.0001, 0.001, 0.01], registers: [registry] });
const promUpstream = new Histogram({ name: 'bench_upstream_seconds', help: 'bench', buckets: [0.0001, 0.001, 0.01, 0.1], registers: [registry] });

describe(`${CALLS.toLocaleString('en')} finished commands`, () => {
  bench('observer.commandDone (cached counts, own histogram)', () => {
    for (const call of calls) observer.commandDone(call.user, call.command, call.result, call.proxyNs, call.upstreamNs);
  });

  bench('prom-client labels().inc() and Histogram.observe()', () => {
    for (const call of calls) {
      promCounter.labels(call.user, call.command, call.result).inc();
      promProxy.observe(call.proxyNs / 1e9);
      promUpstream.observe(call.upstreamNs / 1e9);
    }
  });
});

describe('one scrape', () => {
  bench('registry.metrics() after the commands above', async () => {
    await observer.metrics.registry.metrics();
  });
});
