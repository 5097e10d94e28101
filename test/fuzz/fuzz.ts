/**
 * Fuzzes a live respguard for a given time and reports crashes, hangs, leaks and misrouted
 * replies, saving the input behind each finding as a replayable file:
 *
 *   node --import tsx test/fuzz/fuzz.ts --seconds 600 [--checkers 24] [--hostile 24] [--seed N]
 *   node --import tsx test/fuzz/fuzz.ts --replay test/fuzz/findings/<file>.json
 *
 * respguard runs as a child process through its real command line, in front of a private
 * redis-server on a free loopback port. The exit status is 0 without findings and 1 with.
 *
 * Leaks are measured in two quiet periods, one after the warm-up and one after the load, in
 * which every client has disconnected. respguard must then report no open client connection, no
 * pending upstream request and no pinned connection. Its resident memory must not grow by more
 * than `--leak-bound-mb` from the first quiet period to the second.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';
import { RawClient } from '../helpers/resp-client.js';
import { CHECKER_USER, HOSTILE_USER, runChecker, runHostile, type FuzzContext, type FuzzOptions } from './clients.js';
import { loadFinding, replayClient, saveFinding, type Finding, type FindingKind, type ReplayClient } from './findings.js';
import { measureQuietState, type QuietState } from './quiet.js';

const FINDINGS_DIR = fileURLToPath(new URL('./findings', import.meta.url));
/** Finding files written per kind; more findings of a kind are only counted. */
const FILES_PER_KIND = 5;
const MB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    checkers: { type: 'string', default: '24' },
    hostile: { type: 'string', default: '24' },
    seed: { type: 'string' },
    'max-value-bytes': { type: 'string', default: String(2 * MB) },
    'hang-timeout-ms': { type: 'string', default: '15000' },
    'leak-bound-mb': { type: 'string', default: '100' },
    'findings-dir': { type: 'string', default: FINDINGS_DIR },
    replay: { type: 'string' },
  },
});

/** Parses a numeric option and exits with a usage message when it is not a non-negative integer. */
function integerOption(name: keyof typeof values): number {
  const text = values[name] as string;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`fuzz: --${name} must be a non-negative integer, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return value;
}

const users = {
  [CHECKER_USER.name]: CHECKER_USER.acl,
  [HOSTILE_USER.name]: HOSTILE_USER.acl,
};

async function startUpstreamAndProxy(): Promise<{ redis: RedisServer; proxy: ProxyProcess }> {
  const redis = await startRedis({ password: 'fuzz-upstream-secret' });
  const proxy = await startProxyProcess(redis, { users, poolSize: 2 });
  return { redis, proxy };
}

async function replay(file: string): Promise<number> {
  const finding = loadFinding(file);
  const { redis, proxy } = await startUpstreamAndProxy();
  process.stdout.write(`replaying ${finding.kind}: ${finding.detail}\n`);
  const results = await Promise.all(finding.clients.map((client) => replayClient(client, proxy.port, 15_000)));
  const alive = proxy.alive();
  for (const result of results) {
    process.stdout.write(`  ${result.label}: ${result.verdict}, ${result.repliesReceived} replies${result.firstDifference ? `, first difference ${result.firstDifference}` : ''}\n`);
  }
  process.stdout.write(`  respguard ${alive ? 'still runs' : `exited: ${JSON.stringify(await proxy.exited)}`}\n`);
  await proxy.stop();
  await redis.stop();
  const reproduced = !alive || results.some((result) => result.verdict !== 'ok');
  process.stdout.write(reproduced ? 'reproduced\n' : 'not reproduced\n');
  return reproduced ? 1 : 0;
}

/** Pings the upstream directly once a second; `healthy()` is true after a PONG within the last 2 s. */
function watchUpstream(redis: RedisServer): { healthy: () => boolean; stop: () => void } {
  let lastPong = Date.now();
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const client = await RawClient.connect(redis.port).catch(() => null);
      if (client) {
        const reply = await client.call(['AUTH', redis.password ?? '']).then(() => client.call(['PING'], 1000));
        if (reply === '+PONG\r\n') lastPong = Date.now();
        client.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  void loop();
  return { healthy: () => Date.now() - lastPong < 2000, stop: () => (stopped = true) };
}

async function fuzz(): Promise<number> {
  const seconds = integerOption('seconds');
  const options: FuzzOptions = {
    seed: values.seed === undefined ? Math.floor(Math.random() * 1e6) : integerOption('seed'),
    maxValueBytes: integerOption('max-value-bytes'),
    hangTimeoutMs: integerOption('hang-timeout-ms'),
  };
  const loops = { checkers: integerOption('checkers'), hostile: integerOption('hostile') };
  const leakBoundBytes = integerOption('leak-bound-mb') * MB;
  const findingsDir = path.resolve(values['findings-dir']!);

  let { redis, proxy } = await startUpstreamAndProxy();
  const upstream = watchUpstream(redis);
  const counts = new Map<FindingKind, number>();
  const files: string[] = [];
  let stopping = false;
  let release: (() => void) | null = null;
  let quiet: Promise<void> | null = null;
  let parked = 0;
  let clientId = 0;
  let peakRssBytes = 0;

  const context: FuzzContext = {
    options,
    port: () => proxy.port,
    stopping: () => stopping,
    interrupted: () => stopping || quiet !== null,
    gate: async () => {
      if (!quiet) return;
      parked += 1;
      await quiet;
      parked -= 1;
    },
    healthy: () => upstream.healthy() && proxy.alive(),
    report: (problem) => {
      const count = (counts.get(problem.kind) ?? 0) + 1;
      counts.set(problem.kind, count);
      const finding: Finding = { ...problem, createdAt: new Date().toISOString(), seed: options.seed, respguardOutput: proxy.output().slice(-4000) };
      process.stdout.write(`FINDING ${problem.kind}: ${problem.detail}\n`);
      if (count <= FILES_PER_KIND) files.push(saveFinding(findingsDir, finding, count));
    },
    nextClientId: () => ++clientId,
    stats: { checkerBatches: 0, checkedReplies: 0, hostileStreams: { random: 0, mutated: 0, edge: 0, inline: 0 }, connections: 0 },
    recent: new Map<string, ReplayClient>(),
  };

  const watchCrash = (running: ProxyProcess): void => {
    void running.exited.then(async (exit) => {
      if (stopping) return;
      context.report({ kind: 'crash', detail: `respguard exited with ${JSON.stringify(exit)}`, clients: [...context.recent.values()] });
      try {
        proxy = await startProxyProcess(redis, { users, poolSize: 2 });
        watchCrash(proxy);
      } catch (error) {
        process.stderr.write(`fuzz: respguard did not restart after a crash, ending the run: ${(error as Error).message}\n`);
        stopping = true;
      }
    });
  };
  watchCrash(proxy);
  const sampler = setInterval(() => {
    if (proxy.alive()) peakRssBytes = Math.max(peakRssBytes, proxy.memory().peakRssBytes);
  }, 1000);

  /** Holds every client at its gate, measures, then lets them go again. */
  const quietPeriod = async (label: string, last: boolean): Promise<QuietState> => {
    quiet = new Promise<void>((resolve) => (release = resolve));
    const state = await measureQuietState(() => proxy, () => parked, loops.checkers + loops.hostile, label);
    // After the last quiet period the loops must see the end of the run as soon as they leave the gate.
    stopping = last;
    release?.();
    quiet = null;
    return state;
  };

  const started = Date.now();
  const running = [
    ...Array.from({ length: loops.checkers }, (_, slot) => runChecker(context, slot)),
    ...Array.from({ length: loops.hostile }, (_, slot) => runHostile(context, slot)),
  ];
  const progress = setInterval(() => {
    const stats = context.stats;
    const rss = proxy.alive() ? Math.round(proxy.memory().rssBytes / MB) : 0;
    process.stdout.write(
      `${Math.round((Date.now() - started) / 1000)} s: ${stats.checkerBatches} batches, ${stats.checkedReplies} replies checked, ` +
        `hostile ${JSON.stringify(stats.hostileStreams)}, ${stats.connections} connections, RSS ${rss} MB, findings ${JSON.stringify(Object.fromEntries(counts))}\n`,
    );
  }, 30_000);

  const warmUpMs = Math.min(60_000, (seconds * 1000) / 10);
  await new Promise((resolve) => setTimeout(resolve, warmUpMs));
  const baseline = await quietPeriod('baseline', false);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, seconds * 1000 - (Date.now() - started))));
  const final = await quietPeriod('final', true);
  await Promise.all(running);
  clearInterval(progress);
  clearInterval(sampler);

  checkLeaks(context, baseline, final, leakBoundBytes);
  const summary = {
    seconds: Math.round((Date.now() - started) / 1000),
    seed: options.seed,
    clients: loops,
    maxValueBytes: options.maxValueBytes,
    stats: context.stats,
    rssMB: { baseline: baseline.rssBytes / MB, final: final.rssBytes / MB, peak: Math.max(peakRssBytes, final.peakRssBytes) / MB },
    afterLoad: final.metrics,
    findings: Object.fromEntries(counts),
    files,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  upstream.stop();
  await proxy.stop();
  await redis.stop();
  return counts.size > 0 ? 1 : 0;
}

function checkLeaks(context: FuzzContext, baseline: QuietState, final: QuietState, boundBytes: number): void {
  for (const state of [baseline, final]) {
    if (state.problems.length > 0) {
      context.report({ kind: 'leak', detail: `${state.label} quiet period: ${state.problems.join('; ')}`, clients: [] });
    }
  }
  const growth = final.rssBytes - baseline.rssBytes;
  if (growth > boundBytes) {
    context.report({
      kind: 'leak',
      detail: `resident memory grew by ${Math.round(growth / MB)} MB between the quiet periods (bound ${Math.round(boundBytes / MB)} MB)`,
      clients: [],
    });
  }
}

const status = values.replay === undefined ? await fuzz() : await replay(values.replay);
process.exit(status);
