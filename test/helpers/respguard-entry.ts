/**
 * Runs the respguard command line from the TypeScript sources, as bin/respguard.js runs it from
 * dist/, so that tests can start the real proxy as a child process without a build:
 * `node --import tsx test/helpers/respguard-entry.ts run --config FILE`.
 */
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`respguard: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
