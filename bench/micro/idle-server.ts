/**
 * The child process of idle-connections.ts: runs `respguard --config FILE` from the sources and
 * replies to each `measure` message on its IPC channel with its memory usage. It reads the usage
 * after two full garbage collections, so that only live objects count. Needs `node --expose-gc --import tsx`.
 */
import { main } from '../../src/cli/main.js';

/** Memory usage of this process, in bytes, as process.memoryUsage() reports it. */
export interface MemoryReport {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('idle-server.ts needs node --expose-gc');
const configFile = process.argv[2];
if (!configFile) throw new Error('usage: node --expose-gc --import tsx bench/micro/idle-server.ts CONFIG');

process.on('message', (message) => {
  if (message !== 'measure') return;
  gc();
  gc();
  const usage = process.memoryUsage();
  const report: MemoryReport = { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers };
  process.send!(report);
});

main(['--config', configFile]).then(
  (code) => process.exit(code ?? 0),
  (error: unknown) => {
    process.stderr.write(`idle-server: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
