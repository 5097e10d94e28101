/**
 * The process resources that the CLI commands use, gathered in one object so that tests can run
 * the real commands with their own streams, signals and log destination. `main` uses the real
 * process unless a test passes its own.
 */
import type { EventEmitter } from 'node:events';
import type { DestinationStream } from 'pino';

/** Standard input as the commands read it: a byte stream that may be a terminal. */
export interface CliInput extends NodeJS.ReadableStream {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  destroy?(): unknown;
}

/** Streams, signals and process hooks of one CLI run. */
export interface CliIo {
  readonly stdin: CliInput;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Source of SIGTERM, SIGINT and SIGHUP for `run`. */
  readonly signals: EventEmitter;
  /** Environment for `${VAR}` references in the config. */
  readonly env: NodeJS.ProcessEnv;
  /** Destination of the JSON log lines; undefined = standard output. */
  readonly logDestination?: DestinationStream;
  /**
   * Called when `run` has shut down with `code`. The process version forces an exit if
   * something still keeps the event loop alive a moment later, so that a leaked handle cannot
   * turn a SIGTERM into a hang.
   */
  afterShutdown(code: number): void;
}

/** Delay before a process that shut down is forced to exit, in ms. */
const FORCED_EXIT_DELAY_MS = 2000;

/** Returns the CliIo of the running process. */
export function processIo(): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    signals: process,
    env: process.env,
    afterShutdown(code) {
      setTimeout(() => process.exit(code), FORCED_EXIT_DELAY_MS).unref();
    },
  };
}
