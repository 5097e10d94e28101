/**
 * Memory cost of idle authenticated client connections. The script starts a private
 * redis-server and respguard in a child process (idle-server.ts), and opens N client
 * connections that each authenticate with AUTH and then stay idle. It reports the growth of
 * respguard's resident memory and V8 heap divided by N. The child measures itself after full garbage collections,
 * and the baseline is taken with one authenticated connection open, so the first connection's
 * one-time costs (code compiled, upstream pool opened) are not counted per connection.
 *
 * Usage: node --import tsx bench/micro/idle-connections.ts [--connections N] [--tls]
 * (default 10,000 connections; --tls measures the TLS listener as well as the plaintext one).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { BENCH_PASSWORD } from '../fixtures/realistic-policy.js';
import { makeCertificates, type Certificates } from '../lib/certificates.js';
import { freePort, killAllServicesNow, startService, stopAllServices, stopService, waitForPort, type Service } from '../lib/processes.js';
import { benchConfig, REPO_ROOT, USERS } from '../lib/respguard.js';
import type { MemoryReport } from './idle-server.js';

const UPSTREAM_PASSWORD = 'bench-upstream';
/** Connections opened at once; more would mostly measure the accept queue. */
const CONCURRENT_OPENS = 200;
const AUTH_OK = '+OK\r\n';

/**
 * Connects and authenticates one client, over TLS when `ca` (the CA certificate in PEM) is
 * given. Resolves with the idle socket once AUTH returned +OK.
 */
function openAuthenticated(port: number, ca: string | null): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = ca !== null ? tls.connect({ host: '127.0.0.1', port, ca }) : net.connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.once(ca !== null ? 'secureConnect' : 'connect', () => {
      socket.write(`AUTH ${USERS.realistic} ${BENCH_PASSWORD}\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.length < AUTH_OK.length) return;
      socket.removeAllListeners('data');
      if (reply === AUTH_OK) resolve(socket);
      else reject(new Error(`AUTH returned ${JSON.stringify(reply)}`));
    });
    socket.once('error', reject);
  });
}

async function openMany(count: number, port: number, ca: string | null): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let opened = 0; opened < count; opened += CONCURRENT_OPENS) {
    const batch = Math.min(CONCURRENT_OPENS, count - opened);
    sockets.push(...(await Promise.all(Array.from({ length: batch }, () => openAuthenticated(port, ca)))));
  }
  return sockets;
}

function measure(server: Service): Promise<MemoryReport> {
  return new Promise((resolve) => {
    server.child.once('message', (report) => resolve(report as MemoryReport));
    server.child.send('measure');
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Measures one listener; returns a Markdown table row. */
async function measureListener(server: Service, label: string, port: number, count: number, ca: string | null): Promise<string> {
  const first = await openAuthenticated(port, ca);
  await sleep(1000);
  const before = await measure(server);
  const sockets = await openMany(count, port, ca);
  await sleep(2000);
  const after = await measure(server);
  for (const socket of [first, ...sockets]) socket.destroy();
  await sleep(1000);

  const perConnection = (field: keyof MemoryReport): string => ((after[field] - before[field]) / count / 1024).toFixed(2);
  return (
    `| ${label} | ${count.toLocaleString('en-US')} | ${perConnection('rss')} | ${perConnection('heapUsed')} | ` +
    `${perConnection('external')} | ${(before.rss / 2 ** 20).toFixed(1)} → ${(after.rss / 2 ** 20).toFixed(1)} |`
  );
}

interface Setup {
  readonly dir: string;
  readonly count: number;
  readonly redisPort: number;
  readonly certificates: Certificates;
}

/**
 * Starts a respguard with one listener of `kind`, measures it and stops it. Each kind gets a
 * fresh process, because memory freed after one measurement would be reused by the next and
 * hide part of its growth.
 */
async function measureInFreshProcess(kind: 'plaintext' | 'TLS', setup: Setup): Promise<string> {
  const port = await freePort();
  const listener = kind === 'TLS' ? { port, tls: { cert: setup.certificates.cert, key: setup.certificates.key } } : { port };
  const configFile = path.join(setup.dir, `respguard-${kind}.yaml`);
  const config = benchConfig({ listeners: [listener], upstreamPort: setup.redisPort, upstreamPassword: UPSTREAM_PASSWORD, maxClients: setup.count + 100 });
  writeFileSync(configFile, config);
  const serverScript = path.join(REPO_ROOT, 'bench', 'micro', 'idle-server.ts');
  const args = ['--expose-gc', '--import', 'tsx', serverScript, configFile];
  const server = startService('respguard', process.execPath, args, path.join(setup.dir, `respguard-${kind}.log`), { ipc: true });
  await waitForPort(server, port);
  const ca = kind === 'TLS' ? readFileSync(setup.certificates.caCert, 'latin1') : null;
  const row = await measureListener(server, kind, port, setup.count, ca);
  await stopService(server);
  return row;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { connections: { type: 'string', default: '10000' }, tls: { type: 'boolean', default: false } } });
  const count = Number(values.connections);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--connections must be a positive integer, got "${values.connections}"`);
  const dir = mkdtempSync(path.join(tmpdir(), 'respguard-idle-'));
  try {
    const certificates = makeCertificates(dir);
    const redisPort = await freePort();
    const redis = startService('redis', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--requirepass', UPSTREAM_PASSWORD], path.join(dir, 'redis.log'));
    await waitForPort(redis, redisPort);

    const rows = [
      '| listener | idle connections | RSS KiB/conn | V8 heap KiB/conn | external KiB/conn | RSS MiB before → after |',
      '|---|--:|--:|--:|--:|--:|',
    ];
    for (const kind of values.tls ? (['plaintext', 'TLS'] as const) : (['plaintext'] as const)) {
      rows.push(await measureInFreshProcess(kind, { dir, count, redisPort, certificates }));
    }
    process.stdout.write(`${rows.join('\n')}\n`);
  } finally {
    await stopAllServices();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.on('exit', killAllServicesNow);
main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`idle-connections: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
