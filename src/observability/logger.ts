/**
 * The process logger: pino JSON lines on standard output. Sessions and upstream connections
 * log through child loggers that carry their ids. Secrets are never passed to a logger; the
 * redact list is a second line of defence for fields that could hold one by mistake.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const REDACTED_PATHS = ['password', 'pass', 'args', 'argv', '*.password', 'upstream.password', 'config.upstream.password'];

/** Creates the root logger. `destination` defaults to standard output. */
export function createLogger(level: LevelWithSilent = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'respguard',
      level,
      base: { pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
