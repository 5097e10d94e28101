/**
 * On-CPU profiles with Linux perf, as a complement to V8's --cpu-prof. V8's profiler samples
 * the JavaScript thread by wall clock, so time the thread spends descheduled inside a syscall
 * (frequent on a loaded 2-core machine) lands on the native function that made the call. perf's
 * cpu-clock event samples only while the process runs on a CPU, and it samples kernel code too.
 * So it splits the proxy's cost into kernel, V8 and libuv, and JIT-compiled JavaScript.
 * JavaScript frames get names when node runs with --perf-basic-prof.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** Samples per second; high enough for a few thousand samples in a 10-second run. */
const FREQUENCY = 2000;

/** Starts `perf record` on `pid`, writing to `file`; stop it with `stopPerf`. */
export function startPerf(pid: number, file: string): ChildProcess {
  return spawn('perf', ['record', '-e', 'cpu-clock', '-F', String(FREQUENCY), '-g', '-o', file, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Stops a `perf record` started by `startPerf` and waits until it has written its file. */
export async function stopPerf(perf: ChildProcess): Promise<void> {
  const closed = new Promise<void>((resolve) => perf.once('close', () => resolve()));
  perf.kill('SIGINT');
  await closed;
}

/** Lines of `perf report` output: `share  name`, without comments and blank lines. */
function report(file: string, sort: string): [number, string][] {
  const result = spawnSync('perf', ['report', '-i', file, '--no-children', '--sort', sort, '-g', 'none', '--stdio'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`perf report failed: ${result.stderr}`);
  const rows: [number, string][] = [];
  for (const line of result.stdout.split('\n')) {
    const match = /^\s*([\d.]+)%\s+(.+?)\s*$/.exec(line);
    if (match) rows.push([Number(match[1]), match[2]!]);
  }
  return rows;
}

/** Names a perf DSO by what runs in it. */
function describeDso(dso: string): string {
  if (dso === '[kernel.kallsyms]') return 'kernel (syscalls, TCP/IP, scheduler)';
  if (dso === 'node') return 'node binary (V8 runtime and builtins, GC, libuv, OpenSSL)';
  if (dso.startsWith('[JIT]')) return 'JIT-compiled JavaScript';
  return dso;
}

/**
 * Markdown tables of a perf recording: the share of each DSO, and the `top` symbols by share.
 * `strip` is removed from symbol names, to shorten the paths of JavaScript files.
 */
export function perfTables(file: string, top: number, strip: string): string {
  const lines = ['| where | share of on-CPU samples |', '|---|--:|'];
  for (const [share, dso] of report(file, 'dso')) lines.push(`| ${describeDso(dso)} | ${share.toFixed(1)}% |`);
  lines.push('', '| symbol | share |', '|---|--:|');
  for (const [share, symbol] of report(file, 'sym').slice(0, top)) {
    const name = symbol.replace(/^\[[.k]\]\s+/, (prefix) => (prefix.includes('k') ? 'kernel: ' : '')).split(strip).join('');
    lines.push(`| ${name.replace(/\|/g, '\\|')} | ${share.toFixed(2)}% |`);
  }
  return lines.join('\n');
}
