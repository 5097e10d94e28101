/**
 * The signal handling shared by every respguard process role: a single process, the primary of
 * `workers: N`, and each worker. SIGHUP starts a reload, and so does a change of the config file
 * where the file is watched. SIGTERM and SIGINT start one graceful stop. Reloads run one after
 * another, so that two quick SIGHUPs cannot apply files out of order, and a stop waits for the
 * reload in progress.
 */
import type { CliIo } from '../cli/io.js';
import { watchConfigFile, type ConfigWatchOptions } from '../config/watch.js';
import type { Logger } from '../observability/logger.js';
import type { ReloadTrigger } from '../observability/metrics-observer.js';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Actions of a process on reload and stop. */
export interface ProcessRole {
  /** Reloads the config; reports its own failures, and never rejects. */
  reload(trigger: ReloadTrigger): Promise<void>;
  /** Stops gracefully; resolves with the exit status. */
  stop(signal: string): Promise<number>;
  /** Time the stop may take, in ms, for the log line. */
  stopTimeoutMs(): number;
}

export interface LifecycleOptions {
  /** Config file to watch for changes; absent: only SIGHUP reloads. */
  readonly watchFile?: string;
  readonly watch?: ConfigWatchOptions;
}

/**
 * Installs the handlers (synchronously, before this returns) and resolves with the exit status
 * once the process has stopped; `io.afterShutdown` has been called by then.
 */
export function runUntilStopped(io: CliIo, logger: Logger, role: ProcessRole, options: LifecycleOptions = {}): Promise<number> {
  let stopping = false;
  let reloads: Promise<void> = Promise.resolve();
  let resolveExit: (code: number) => void = () => {};
  const exit = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });

  const reload = (trigger: ReloadTrigger): void => {
    if (stopping) return;
    logger.info({ event: 'reload', trigger }, trigger === 'SIGHUP' ? 'SIGHUP received; reloading the config' : 'config file changed; reloading the config');
    reloads = reloads
      .then(() => role.reload(trigger))
      .catch((error: unknown) => logger.error({ event: 'reload', trigger, error: (error as Error).message }, 'config reload failed unexpectedly'));
  };
  const onHangup = (): void => reload('SIGHUP');
  const stopWatching =
    options.watchFile === undefined ? () => {} : watchConfigFile(options.watchFile, () => reload('file change'), options.watch);

  const onStop = (signal: string): void => {
    if (stopping) {
      logger.warn({ event: 'stop', signal }, 'already stopping; waiting for open connections to finish');
      return;
    }
    stopping = true;
    stopWatching();
    logger.info({ event: 'stop', signal, timeoutMs: role.stopTimeoutMs() }, 'stopping on signal');
    void reloads
      .then(() => role.stop(signal))
      .then(
        (code) => finish(code),
        (error: unknown) => {
          logger.error({ event: 'stop', error: (error as Error).message }, 'graceful shutdown failed');
          finish(1);
        },
      );
  };

  const finish = (code: number): void => {
    io.signals.removeListener('SIGHUP', onHangup);
    for (const signal of STOP_SIGNALS) io.signals.removeListener(signal, onStop);
    io.afterShutdown(code);
    resolveExit(code);
  };

  io.signals.on('SIGHUP', onHangup);
  for (const signal of STOP_SIGNALS) io.signals.on(signal, onStop);
  return exit;
}
