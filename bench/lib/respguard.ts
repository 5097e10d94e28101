/**
 * respguard as the benchmarks run it: a private build of the working tree and config files for
 * the benchmark users. The build goes into the benchmark's own directory, so a rebuild of
 * dist/ by someone else during a long run cannot change the code being measured.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ALL_ACL, REALISTIC_ACL } from '../fixtures/realistic-policy.js';

/** The repository root, two levels above this file. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Benchmark users, both with the password BENCH_PASSWORD: `bench_all` has `+@all ~*`, and
 * `bench_app` has the 50-rule realistic policy.
 */
export const USERS = {
  all: 'bench_all',
  realistic: 'bench_app',
} as const;

/**
 * Compiles src/ into `dir`/dist with tsconfig.build.json and lays out bin/, package.json and
 * node_modules beside it, as an installed respguard has them. Returns the path of the
 * respguard executable script. Throws with the compiler output when compiling fails.
 */
export function buildSnapshot(dir: string): string {
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(REPO_ROOT, 'tsconfig.build.json'), '--outDir', path.join(dir, 'dist')], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`compiling respguard failed:\n${result.stdout}${result.stderr}`);
  copyFileSync(path.join(REPO_ROOT, 'bin', 'respguard.js'), path.join(dir, 'bin', 'respguard.js'));
  copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return path.join(dir, 'bin', 'respguard.js');
}

/** Returns the commit of the working tree, with `+changes` when src/ has uncommitted changes. */
export function sourceRevision(): string {
  const git = (args: string[]): string => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  try {
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', 'src']) !== '';
    return dirty ? `${commit}+changes` : commit;
  } catch {
    return 'unknown';
  }
}

/** One listener of a benchmark config. */
export interface BenchListener {
  readonly port: number;
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** Settings of a benchmark config. */
export interface BenchConfigOptions {
  readonly listeners: readonly BenchListener[];
  readonly upstreamPort: number;
  readonly upstreamPassword: string;
  readonly workers?: number;
  /** Most client connections; the default of 10,000 is too low for the idle-connection test. */
  readonly maxClients?: number;
  /** upstream.pool.size; absent keeps respguard's default. */
  readonly poolSize?: number;
}

/**
 * Returns the YAML text of a config with the two benchmark users, logging at `warn` so that
 * logging per connection does not enter the measurement. Listeners and upstream are on 127.0.0.1.
 */
export function benchConfig(options: BenchConfigOptions): string {
  const config: Record<string, unknown> = {
    listeners: options.listeners.map((listener) => ({
      host: '127.0.0.1',
      port: listener.port,
      ...(listener.tls ? { tls: { cert: listener.tls.cert, key: listener.tls.key } } : {}),
    })),
    upstream: {
      host: '127.0.0.1',
      port: options.upstreamPort,
      password: options.upstreamPassword,
      ...(options.poolSize !== undefined ? { pool: { size: options.poolSize } } : {}),
    },
    users: {
      [USERS.all]: { acl: ALL_ACL },
      [USERS.realistic]: { acl: REALISTIC_ACL },
    },
    log: { level: 'warn' },
  };
  if (options.workers !== undefined) config.workers = options.workers;
  if (options.maxClients !== undefined) config.limits = { maxClients: options.maxClients };
  return stringify(config);
}
