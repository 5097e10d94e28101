/**
 * The primary process of `workers: N`: it forks N workers with node:cluster, which share the
 * client listeners, and runs no proxy itself. It replaces a worker that exits (after a backoff
 * when workers keep failing), passes SIGHUP and SIGTERM on to the workers, watches the config
 * file, and serves the metrics listener with the metrics of all workers summed together.
 *
 * A worker counts as started when it sent its `respguard:started` message. Signals go only to
 * started workers, because their handlers are installed by then and an unhandled SIGHUP would
 * kill a worker.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry } from 'prom-client';
import type { CliIo } from '../cli/io.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { startMetricsServer, type HealthSource, type MetricsServer, type Readiness } from '../observability/http.js';
import type { Logger } from '../observability/logger.js';
import { RespguardMetrics } from '../observability/metrics.js';
import { runUntilStopped, type ProcessRole } from './lifecycle.js';
import { isMessage, type ReplyMessage, type MetricsSnapshot, type StartedMessage, type WorkerQuery } from './messages.js';

/** The command that workers run: the same bin script as an installed respguard. */
const WORKER_SCRIPT = fileURLToPath(new URL('../../bin/respguard.js', import.meta.url));
/** Time a worker has to reply to a metrics or readiness query, in ms. */
const QUERY_TIMEOUT_MS = 5000;
/** Extra time after shutdownTimeoutMs before workers that did not stop are killed, in ms. */
const KILL_GRACE_MS = 2000;
const RESTART_DELAY_START_MS = 500;
const RESTART_DELAY_MAX_MS = 30_000;
/** A worker that ran this long before it exited resets the restart backoff, in ms. */
const STABLE_RUN_MS = 10_000;

export interface PrimaryOptions {
  readonly config: Config;
  readonly file: string;
  readonly logger: Logger;
  readonly io: CliIo;
  /** Number of workers to run, at least 2. */
  readonly workers: number;
}

/** Runs the primary until SIGTERM or SIGINT; resolves 1 when the workers cannot start, else with the stop's status. */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { logger, io } = options;
  const metrics = new RespguardMetrics();
  const supervisor = new WorkerSupervisor(options.file, io.env, logger, metrics);
  logger.info({ event: 'start', workers: options.workers }, 'starting worker processes');
  if (!(await supervisor.start(options.workers))) {
    logger.fatal({ event: 'start' }, 'a worker process failed to start; stopping');
    await supervisor.stop(options.config.shutdownTimeoutMs);
    return 1;
  }

  let metricsServer: MetricsServer | undefined;
  if (options.config.metrics !== undefined) {
    try {
      metricsServer = await startMetricsServer(options.config.metrics, clusterHealth(supervisor, metrics), logger);
    } catch (error) {
      logger.fatal({ event: 'start', error: (error as Error).message }, 'respguard failed to start the metrics listener');
      io.stderr.write(`respguard: metrics listener: ${(error as Error).message}\n`);
      await supervisor.stop(options.config.shutdownTimeoutMs);
      return 1;
    }
  }
  logger.info({ event: 'start', workers: options.workers }, 'respguard started with worker processes');

  let config = options.config;
  const role: ProcessRole = {
    async reload() {
      // The workers load, apply, log and count the reload; this process only needs its own settings.
      try {
        config = await loadConfig(options.file, io.env);
        logger.level = config.log.level;
      } catch (error) {
        logger.debug({ event: 'reload', error: (error as Error).message }, 'the primary keeps its settings; the workers report the failure');
      }
      supervisor.signalWorkers('SIGHUP');
    },
    async stop() {
      await metricsServer?.close();
      return supervisor.stop(config.shutdownTimeoutMs);
    },
    stopTimeoutMs: () => config.shutdownTimeoutMs,
  };
  return runUntilStopped(io, logger, role, { watchFile: options.config.file });
}

/** Builds the metrics listener's view of the cluster: workers' metrics summed with the primary's own. */
function clusterHealth(supervisor: WorkerSupervisor, metrics: RespguardMetrics): HealthSource {
  return {
    contentType: metrics.registry.contentType,
    async metrics() {
      const snapshots: MetricsSnapshot[] = [];
      for (const reply of await supervisor.query('metrics')) if (reply.metrics) snapshots.push(reply.metrics);
      snapshots.push(await metrics.registry.getMetricsAsJSON());
      return AggregatorRegistry.aggregate(snapshots).metrics();
    },
    async readiness(): Promise<Readiness> {
      const expected = supervisor.startedCount;
      if (expected === 0) return { ready: false, reason: 'no worker has started' };
      const replies = await supervisor.query('ready');
      const notReady = replies.find((reply) => reply.ready !== true);
      if (notReady) return { ready: false, reason: notReady.reason ?? notReady.error ?? 'no upstream connection is ready' };
      if (replies.length < expected) return { ready: false, reason: `${expected - replies.length} of ${expected} workers did not reply` };
      return { ready: true };
    },
  };
}

interface PendingQuery {
  readonly replies: ReplyMessage[];
  waiting: number;
  readonly done: () => void;
}

/** Forks, watches, replaces, queries and stops the workers. */
class WorkerSupervisor {
  private readonly started = new Map<Worker, number>();
  private readonly queries = new Map<number, PendingQuery>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private nextQueryId = 1;
  private failuresInARow = 0;
  private stopping = false;

  constructor(
    file: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logger: Logger,
    private readonly metrics: RespguardMetrics,
  ) {
    cluster.setupPrimary({ exec: WORKER_SCRIPT, args: ['run', '--config', file] });
    cluster.on('message', (worker, message: unknown) => this.onMessage(worker, message));
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
  }

  get startedCount(): number {
    return this.started.size;
  }

  /** Forks `count` workers; resolves false as soon as one exits before it started. */
  async start(count: number): Promise<boolean> {
    const workers = await Promise.all(Array.from({ length: count }, () => this.fork()));
    return workers.every((worker) => worker !== null);
  }

  /** Forks one worker; resolves it once started, or null when it exited first. */
  private fork(): Promise<Worker | null> {
    const worker = cluster.fork(this.env);
    return new Promise((resolve) => {
      const onMessage = (message: unknown): void => {
        if (!isMessage<StartedMessage>(message, 'respguard:started')) return;
        worker.off('exit', onExit);
        worker.off('message', onMessage);
        this.started.set(worker, Date.now());
        this.logger.info({ event: 'worker_start', worker: worker.id, pid: worker.process.pid }, 'worker started');
        resolve(worker);
      };
      const onExit = (): void => {
        worker.off('message', onMessage);
        resolve(null);
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const startedAt = this.started.get(worker);
    this.started.delete(worker);
    if (this.stopping || startedAt === undefined) return;

    this.failuresInARow = Date.now() - startedAt >= STABLE_RUN_MS ? 0 : this.failuresInARow + 1;
    this.metrics.counter('respguard_worker_restarts_total').inc();
    this.logger.error(
      { event: 'worker_exit', worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: this.restartDelay() },
      'worker exited; starting a replacement',
    );
    this.replace();
  }

  private restartDelay(): number {
    if (this.failuresInARow === 0) return 0;
    return Math.min(RESTART_DELAY_MAX_MS, RESTART_DELAY_START_MS * 2 ** (this.failuresInARow - 1));
  }

  private replace(): void {
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.stopping) return;
      void this.fork().then((worker) => {
        if (worker !== null || this.stopping) return;
        this.failuresInARow += 1;
        this.logger.error({ event: 'worker_start', retryInMs: this.restartDelay() }, 'replacement worker failed to start; retrying');
        this.replace();
      });
    }, this.restartDelay());
    this.restartTimers.add(timer);
  }

  /** Sends `signal` to every started worker. */
  signalWorkers(signal: NodeJS.Signals): void {
    for (const worker of this.started.keys()) worker.process.kill(signal);
  }

  /** Queries every started worker; resolves with the replies that arrived within the query timeout. */
  query(query: WorkerQuery): Promise<ReplyMessage[]> {
    const id = this.nextQueryId++;
    const targets = [...this.started.keys()].filter((worker) => worker.isConnected());
    return new Promise((resolve) => {
      const replies: ReplyMessage[] = [];
      const finish = (): void => {
        clearTimeout(timer);
        this.queries.delete(id);
        resolve(replies);
      };
      const timer = setTimeout(() => {
        this.logger.warn({ event: 'worker_query', query, replied: replies.length, queried: targets.length }, 'some workers did not reply in time');
        finish();
      }, QUERY_TIMEOUT_MS);
      this.queries.set(id, { replies, waiting: targets.length, done: finish });
      for (const worker of targets) worker.send({ type: 'respguard:query', id, query });
      if (targets.length === 0) finish();
    });
  }

  private onMessage(worker: Worker, message: unknown): void {
    if (!isMessage<ReplyMessage>(message, 'respguard:reply')) return;
    const pending = this.queries.get(message.id);
    if (pending === undefined) return;
    if (message.error !== undefined) this.logger.warn({ event: 'worker_query', worker: worker.id, error: message.error }, 'worker could not reply to a query');
    else pending.replies.push(message);
    pending.waiting -= 1;
    if (pending.waiting === 0) pending.done();
  }

  /**
   * Stops every worker with SIGTERM and waits for them; those still running `timeoutMs` plus a
   * grace period later are killed. Resolves 0 when every started worker exited with status 0.
   */
  async stop(timeoutMs: number): Promise<number> {
    this.stopping = true;
    for (const timer of this.restartTimers) clearTimeout(timer);
    const started = new Set(this.started.keys());
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    // A worker still starting has no signal handler yet and dies of the SIGTERM; only started workers count.
    const exits = workers.map((worker) => exitOf(worker).then((result) => (started.has(worker) ? result : { code: 0, signal: null })));
    for (const worker of workers) worker.process.kill('SIGTERM');

    const killTimer = setTimeout(() => {
      for (const worker of workers) {
        if (worker.process.exitCode !== null || worker.process.signalCode !== null) continue;
        this.logger.error({ event: 'stop', worker: worker.id, pid: worker.process.pid }, 'worker did not stop in time; killing it');
        worker.process.kill('SIGKILL');
      }
    }, timeoutMs + KILL_GRACE_MS);
    const results = await Promise.all(exits);
    clearTimeout(killTimer);
    return results.every((result) => result.code === 0) ? 0 : 1;
  }
}

function exitOf(worker: Worker): Promise<{ code: number | null; signal: string | null }> {
  if (worker.process.exitCode !== null || worker.process.signalCode !== null) {
    return Promise.resolve({ code: worker.process.exitCode, signal: worker.process.signalCode });
  }
  return new Promise((resolve) => worker.once('exit', (code: number | null, signal: string | null) => resolve({ code, signal })));
}
