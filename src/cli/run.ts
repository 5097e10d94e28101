/**
 * `respguard run --config FILE` (also plain `respguard --config FILE`): loads the config, starts
 * the proxy and serves until SIGTERM or SIGINT. SIGHUP reloads the file. An invalid new file is
 * logged and the running configuration stays, so a bad edit never takes the proxy down.
 */
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { RespguardError } from '../errors.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { startServer, type RunningServer } from '../server.js';
import { EXIT_USAGE, parseCommandArgs, printUsageError, stringOption } from './args.js';
import { HELP } from './help.js';
import type { CliIo } from './io.js';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Runs `run`; resolves with the exit status once the proxy has stopped or failed to start. */
export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs('run', args, { config: { type: 'string', short: 'c' } }, io);
  if (parsed === undefined) return EXIT_USAGE;
  if (parsed.values.help) {
    io.stdout.write(HELP.run!);
    return 0;
  }
  const file = stringOption(parsed, 'config');
  if (file === undefined) {
    printUsageError('run', 'missing --config FILE', io);
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
  if (config.workers !== 1) {
    // NOTE: one process serves all listeners; forking workers per core is not implemented.
    logger.warn({ event: 'start', workers: config.workers }, 'workers other than 1 are not supported yet; running one process');
  }

  let server: RunningServer;
  try {
    server = await startServer(config, { logger });
  } catch (error) {
    const message = describeStartError(error, file);
    logger.fatal({ event: 'start', error: (error as Error).message }, 'respguard failed to start');
    io.stderr.write(`respguard: ${message}\n`);
    return 1;
  }
  return serveUntilStopped(server, config, file, logger, io);
}

/** Installs the signal handlers and resolves with the exit status after a graceful stop. */
function serveUntilStopped(server: RunningServer, initialConfig: Config, file: string, logger: Logger, io: CliIo): Promise<number> {
  let config = initialConfig;
  let stopping = false;
  // Reloads run one after another, so that two quick SIGHUPs cannot apply files out of order.
  let reloads: Promise<void> = Promise.resolve();

  return new Promise((resolve) => {
    const onReload = (): void => {
      if (stopping) return;
      reloads = reloads.then(async () => {
        const next = await reloadConfig(server, file, logger, io);
        if (next !== undefined) config = next;
      });
    };

    const onStop = (signal: string): void => {
      if (stopping) {
        logger.warn({ event: 'stop', signal }, 'already stopping; waiting for open connections to finish');
        return;
      }
      stopping = true;
      logger.info({ event: 'stop', signal, timeoutMs: config.shutdownTimeoutMs }, 'stopping on signal');
      void server.close(config.shutdownTimeoutMs).then(
        () => finish(0),
        (error: unknown) => {
          logger.error({ event: 'stop', error: (error as Error).message }, 'graceful shutdown failed');
          finish(1);
        },
      );
    };

    const finish = (code: number): void => {
      io.signals.removeListener('SIGHUP', onReload);
      for (const signal of STOP_SIGNALS) io.signals.removeListener(signal, onStop);
      io.afterShutdown(code);
      resolve(code);
    };

    io.signals.on('SIGHUP', onReload);
    for (const signal of STOP_SIGNALS) io.signals.on(signal, onStop);
  });
}

/**
 * Loads `file` again and applies it. Returns the new config, or undefined after logging why it
 * was not applied; the running configuration then stays in force.
 */
async function reloadConfig(server: RunningServer, file: string, logger: Logger, io: CliIo): Promise<Config | undefined> {
  logger.info({ event: 'reload', file }, 'SIGHUP received; reloading the config');
  let config: Config;
  try {
    config = await loadConfig(file, io.env);
    await server.reload(config);
  } catch (error) {
    logger.error({ event: 'reload', result: 'failed', file, error: (error as Error).message }, 'config reload failed; the running config stays');
    return undefined;
  }

  logger.level = config.log.level;
  logger.info({ event: 'reload', result: 'ok', file }, 'config reload applied');
  return config;
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
