/**
 * `respguard run --config FILE` (also `respguard run FILE` and plain `respguard --config FILE`): loads the config and
 * serves until SIGTERM or SIGINT. With `workers: 1` one process does everything. With more,
 * this process becomes the cluster primary (src/cluster/primary.ts), and each worker it forks
 * runs this command again and serves here as a worker.
 *
 * SIGHUP and edits of the config file reload it. An invalid new file is logged and counted and
 * the running configuration stays, so a bad edit never takes the proxy down.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { runUntilStopped, type ProcessRole } from '../cluster/lifecycle.js';
import { runPrimary } from '../cluster/primary.js';
import { joinPrimary } from '../cluster/worker.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { RespguardError } from '../errors.js';
import { startMetricsServer, type HealthSource, type MetricsServer } from '../observability/http.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createMetricsObserver, type MetricsObserver, type ReloadTrigger } from '../observability/metrics-observer.js';
import { startServer, type RunningServer } from '../server.js';
import { configFileArgument, EXIT_USAGE, parseCommandArgs, printUsageError, stringOption } from './args.js';
import { HELP } from './help.js';
import type { CliIo } from './io.js';

/** Runs `run`; resolves with the exit status once the proxy has stopped or failed to start. */
export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs('run', args, { config: { type: 'string', short: 'c' } }, io, true);
  if (parsed === undefined) return EXIT_USAGE;
  if (parsed.values.help) {
    io.stdout.write(HELP.run!);
    return 0;
  }
  const { file, error } = configFileArgument(stringOption(parsed, 'config'), parsed.positionals);
  if (file === undefined) {
    printUsageError('run', error, io);
    return EXIT_USAGE;
  }

  let config: Config;
  try {
    config = await loadConfig(file, io.env);
  } catch (error) {
    if (!(error instanceof RespguardError)) throw error;
    io.stderr.write(`${error.message}\n`);
    return 1;
  }

  const logger = createLogger(config.log.level, io.logDestination);
  if (cluster.isWorker) {
    try {
      return await runProxy(config, file, logger.child({ worker: cluster.worker!.id }), io, 'worker');
    } finally {
      // Also after a failed start: an open IPC channel would keep the worker alive.
      if (process.connected) process.disconnect();
    }
  }
  const workers = workerCount(config.workers);
  if (workers > 1) return runPrimary({ config, file, logger, io, workers });
  return runProxy(config, file, logger, io, 'single');
}

/** Returns the number of worker processes that `workers` requests; 1 means no workers. */
export function workerCount(workers: number | 'auto'): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

/**
 * Starts the proxy in this process and serves until stopped. A cluster worker sends its metrics
 * to the primary instead of serving a metrics listener of its own, and the primary, not the
 * worker, watches the config file.
 */
async function runProxy(config: Config, file: string, logger: Logger, io: CliIo, mode: 'single' | 'worker'): Promise<number> {
  const observer = createMetricsObserver(logger, { audit: config.audit });
  let server: RunningServer;
  try {
    server = await startServer(config, { logger, observer });
  } catch (error) {
    logger.fatal({ event: 'start', error: (error as Error).message }, 'respguard failed to start');
    io.stderr.write(`respguard: ${describeStartError(error, file)}\n`);
    return 1;
  }
  const cluster = server.context.cluster;
  const sentinel = server.context.sentinel;
  observer.watchPool(cluster ?? sentinel ?? server.context.pool);
  if (cluster) observer.watchCluster(cluster);
  if (sentinel) observer.watchTopology(sentinel, 'sentinel');

  let metricsServer: MetricsServer | undefined;
  if (mode === 'single' && config.metrics !== undefined) {
    try {
      metricsServer = await startMetricsServer(config.metrics, processHealth(observer, server), logger);
    } catch (error) {
      logger.fatal({ event: 'start', error: (error as Error).message }, 'respguard failed to start the metrics listener');
      io.stderr.write(`respguard: metrics listener: ${describeStartError(error, file)}\n`);
      await server.close(0);
      return 1;
    }
  }

  const role = new ProxyRole(config, file, logger, io, server, observer, metricsServer);
  if (mode === 'single') return runUntilStopped(io, logger, role, { watchFile: config.file });

  const stopped = runUntilStopped(io, logger, role);
  // Only now, with the signal handlers installed: the primary sends SIGHUP to started workers only.
  const link = joinPrimary(observer.metrics, () => server.readiness());
  link.started();
  const code = await stopped;
  link.leave();
  return code;
}

/** Builds the metrics listener's view of a single process: its own registry and upstream pool. */
function processHealth(observer: MetricsObserver, server: RunningServer): HealthSource {
  const registry = observer.metrics.registry;
  return {
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    readiness: async () => server.readiness(),
  };
}

/** Reload and stop of a process that runs the proxy itself (a single process or a worker). */
class ProxyRole implements ProcessRole {
  constructor(
    private config: Config,
    private readonly file: string,
    private readonly logger: Logger,
    private readonly io: CliIo,
    private readonly server: RunningServer,
    private readonly observer: MetricsObserver,
    private readonly metricsServer: MetricsServer | undefined,
  ) {}

  /** Loads the file again and applies it; on any failure the running configuration stays in force. */
  async reload(trigger: ReloadTrigger): Promise<void> {
    if (trigger === 'SIGHUP') {
      // Certificates rotate independently of the config: each listener logs its own outcome
      // (tls_reload: ok, unchanged or rejected) and keeps its old files on failure.
      await this.server.reloadTls().catch(() => {});
    }
    let next: Config;
    try {
      next = await loadConfig(this.file, this.io.env);
      await this.server.reload(next);
    } catch (error) {
      this.observer.configReloaded('failed', { file: this.file, trigger, error: (error as Error).message });
      return;
    }
    warnAboutRestartOnlySettings(this.config, next, this.logger);
    this.logger.level = next.log.level;
    this.observer.configureAudit(next.audit);
    this.config = next;
    this.observer.configReloaded('ok', { file: this.file, trigger });
  }

  async stop(): Promise<number> {
    await this.server.close(this.config.shutdownTimeoutMs);
    await this.metricsServer?.close();
    this.observer.flush();
    return 0;
  }

  stopTimeoutMs(): number {
    return this.config.shutdownTimeoutMs;
  }
}

/** Logs the changed settings that a reload cannot apply: the metrics listener and the number of workers. */
export function warnAboutRestartOnlySettings(running: Config, next: Config, logger: Logger): void {
  const changed: string[] = [];
  if (JSON.stringify(running.metrics) !== JSON.stringify(next.metrics)) changed.push('metrics');
  if (running.workers !== next.workers) changed.push('workers');
  if (changed.length > 0) logger.warn({ event: 'reload', settings: changed }, 'changes of these settings take effect only after a restart');
}

/** Formats a start-up failure as one line: what failed, on which address, and what to change. */
export function describeStartError(error: unknown, file: string): string {
  if (error instanceof RespguardError) return error.message;

  const failure = error as NodeJS.ErrnoException & { address?: string; port?: number };
  const where = failure.address === undefined ? 'the configured address' : `${failure.address}:${failure.port}`;
  switch (failure.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the address is already in use: stop the process that uses it or change the port in ${file}`;
    case 'EACCES':
      return `cannot listen on ${where}: permission denied: use a port from 1024 up, or run with the right to bind low ports`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: the address is not assigned to this machine: change the listener host in ${file}`;
    default:
      return `cannot start: ${failure.message ?? String(error)}`;
  }
}
