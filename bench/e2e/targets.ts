/**
 * The servers of the side-by-side benchmark, all on 127.0.0.1 and on ports picked free. One
 * private redis-server with a password sits behind all of them. In front of it run twemproxy,
 * one HAProxy process (TCP mode and TLS termination), one respguard process (plaintext and TLS
 * listeners) and respguard with 2 workers. Every target reaches the same Redis, so targets
 * differ only in the proxy between redis-benchmark and Redis.
 *
 * Authentication differs by design of each proxy. HAProxy passes the client's AUTH through to
 * Redis. twemproxy authenticates to Redis with `redis_auth` and requires its clients to send
 * AUTH with that same password. respguard checks its own users and authenticates upstream with
 * the upstream password.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeCertificates, type Certificates } from '../lib/certificates.js';
import { freePort, startService, waitForPort, type Service } from '../lib/processes.js';
import { benchConfig, USERS } from '../lib/respguard.js';
import { BENCH_PASSWORD } from '../fixtures/realistic-policy.js';

/** Password of the private Redis, which direct clients, HAProxy's clients and twemproxy use. */
export const UPSTREAM_PASSWORD = 'bench-upstream';

export type TargetKind = 'direct' | 'peer' | 'respguard';

/** One endpoint that redis-benchmark runs against. */
export interface Target {
  readonly name: string;
  readonly kind: TargetKind;
  readonly port: number;
  readonly tls: boolean;
  /** ACL user for `--user`; absent for a single-argument AUTH. */
  readonly user?: string;
  readonly password: string;
  /** The proxy process, whose CPU time (with its child processes) is the proxy's; absent for direct Redis. */
  readonly proxy?: Service;
  /** One-line description of the setup for the report. */
  readonly setup: string;
}

/** Every target name, in the order the report lists them. */
export const TARGET_NAMES = [
  'direct',
  'twemproxy',
  'haproxy-tcp',
  'haproxy-tls',
  'respguard',
  'respguard-app',
  'respguard-tls',
  'respguard-2w',
  'respguard-tls-2w',
] as const;

export type TargetName = (typeof TARGET_NAMES)[number];

/** Running servers and the targets they serve. */
export interface Bench {
  readonly redis: Service;
  readonly targets: readonly Target[];
  readonly certificates: Certificates;
}

/** Settings of the respguard targets. */
export interface RespguardSettings {
  /** Path of the respguard executable script. */
  readonly bin: string;
  /** upstream.pool.size; absent keeps respguard's default. */
  readonly poolSize?: number;
}

/** Starts Redis and every proxy that one of `selected` needs, and returns the selected targets. */
export async function startTargets(dir: string, respguard: RespguardSettings, selected: readonly TargetName[]): Promise<Bench> {
  const wants = (...names: TargetName[]): boolean => names.some((name) => selected.includes(name));
  const certificates = makeCertificates(dir);
  const redisPort = await freePort();
  const redis = startService('redis', 'redis-server', redisArgs(redisPort, dir), path.join(dir, 'redis.log'));
  await waitForPort(redis, redisPort);

  const targets: Target[] = [];
  const add = (target: Target): void => {
    if (selected.includes(target.name as TargetName)) targets.push(target);
  };
  add({ name: 'direct', kind: 'direct', port: redisPort, tls: false, password: UPSTREAM_PASSWORD, setup: 'redis-server, no proxy' });

  if (wants('twemproxy')) {
    const port = await freePort();
    const proxy = await startTwemproxy(dir, port, redisPort);
    add({ name: 'twemproxy', kind: 'peer', port, tls: false, password: UPSTREAM_PASSWORD, proxy, setup: 'nutcracker, one server connection, redis_auth' });
  }
  if (wants('haproxy-tcp', 'haproxy-tls')) {
    const [tcpPort, tlsPort] = [await freePort(), await freePort()];
    const proxy = await startHaproxy(dir, tcpPort, tlsPort, redisPort, certificates);
    add({ name: 'haproxy-tcp', kind: 'peer', port: tcpPort, tls: false, password: UPSTREAM_PASSWORD, proxy, setup: 'haproxy mode tcp' });
    add({ name: 'haproxy-tls', kind: 'peer', port: tlsPort, tls: true, password: UPSTREAM_PASSWORD, proxy, setup: 'haproxy mode tcp, bind ... ssl crt' });
  }
  if (wants('respguard', 'respguard-app', 'respguard-tls')) {
    const [plainPort, tlsPort] = [await freePort(), await freePort()];
    const proxy = await startRespguard(dir, 'respguard', respguard, { plainPort, tlsPort, redisPort, workers: 1 }, certificates);
    const common = { kind: 'respguard', password: BENCH_PASSWORD, proxy } as const;
    add({ ...common, name: 'respguard', port: plainPort, tls: false, user: USERS.all, setup: 'one process, user +@all ~*' });
    add({ ...common, name: 'respguard-app', port: plainPort, tls: false, user: USERS.realistic, setup: 'one process, 50-rule user' });
    add({ ...common, name: 'respguard-tls', port: tlsPort, tls: true, user: USERS.all, setup: 'one process, TLS listener, user +@all ~*' });
  }
  if (wants('respguard-2w', 'respguard-tls-2w')) {
    const [plainPort, tlsPort] = [await freePort(), await freePort()];
    const proxy = await startRespguard(dir, 'respguard-2w', respguard, { plainPort, tlsPort, redisPort, workers: 2 }, certificates);
    const common = { kind: 'respguard', password: BENCH_PASSWORD, proxy, user: USERS.all } as const;
    add({ ...common, name: 'respguard-2w', port: plainPort, tls: false, setup: 'workers: 2, user +@all ~*' });
    add({ ...common, name: 'respguard-tls-2w', port: tlsPort, tls: true, setup: 'workers: 2, TLS listener, user +@all ~*' });
  }
  targets.sort((a, b) => TARGET_NAMES.indexOf(a.name as TargetName) - TARGET_NAMES.indexOf(b.name as TargetName));
  return { redis, targets, certificates };
}

function redisArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--requirepass', UPSTREAM_PASSWORD];
}

/**
 * Starts twemproxy with one pool in front of the one Redis. Its default of one server connection
 * multiplexes every client onto it. The stats port, which defaults to 0.0.0.0:22222, is moved
 * to a free loopback port.
 */
async function startTwemproxy(dir: string, port: number, redisPort: number): Promise<Service> {
  const file = path.join(dir, 'nutcracker.yml');
  writeFileSync(
    file,
    [
      'bench:',
      `  listen: 127.0.0.1:${port}`,
      '  redis: true',
      `  redis_auth: ${UPSTREAM_PASSWORD}`,
      '  hash: fnv1a_64',
      '  distribution: ketama',
      '  preconnect: true',
      '  auto_eject_hosts: false',
      '  servers:',
      `    - 127.0.0.1:${redisPort}:1`,
      '',
    ].join('\n'),
  );
  const statsPort = await freePort();
  const service = startService('twemproxy', 'nutcracker', ['-c', file, '-a', '127.0.0.1', '-s', String(statsPort)], path.join(dir, 'nutcracker.log'));
  await waitForPort(service, port);
  return service;
}

/** Starts one HAProxy process with a plain TCP frontend and a TLS-terminating one, both to Redis. */
async function startHaproxy(dir: string, tcpPort: number, tlsPort: number, redisPort: number, certificates: Certificates): Promise<Service> {
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    [
      'global',
      '  maxconn 4096',
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 1h',
      '  timeout server 1h',
      'frontend redis_tcp',
      `  bind 127.0.0.1:${tcpPort}`,
      '  default_backend redis',
      'frontend redis_tls',
      `  bind 127.0.0.1:${tlsPort} ssl crt ${certificates.combined}`,
      '  default_backend redis',
      'backend redis',
      `  server redis 127.0.0.1:${redisPort}`,
      '',
    ].join('\n'),
  );
  const service = startService('haproxy', 'haproxy', ['-db', '-f', file], path.join(dir, 'haproxy.log'));
  await waitForPort(service, tcpPort);
  await waitForPort(service, tlsPort);
  return service;
}

interface RespguardPorts {
  readonly plainPort: number;
  readonly tlsPort: number;
  readonly redisPort: number;
  readonly workers: number;
}

async function startRespguard(dir: string, name: string, settings: RespguardSettings, ports: RespguardPorts, certificates: Certificates): Promise<Service> {
  const file = path.join(dir, `${name}.yaml`);
  const listeners = [{ port: ports.plainPort }, { port: ports.tlsPort, tls: { cert: certificates.cert, key: certificates.key } }];
  const config = benchConfig({
    listeners,
    upstreamPort: ports.redisPort,
    upstreamPassword: UPSTREAM_PASSWORD,
    workers: ports.workers,
    ...(settings.poolSize !== undefined ? { poolSize: settings.poolSize } : {}),
  });
  writeFileSync(file, config);
  const service = startService(name, process.execPath, [settings.bin, '--config', file], path.join(dir, `${name}.log`));
  await waitForPort(service, ports.plainPort);
  await waitForPort(service, ports.tlsPort);
  return service;
}
