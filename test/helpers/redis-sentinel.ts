/**
 * Starts a private Sentinel setup for tests: a primary and two replicas (`redis-server` with
 * `--replicaof`, requirepass and masterauth) and three sentinels (`redis-server FILE --sentinel`,
 * each with a config file in a temporary directory), all on free loopback ports. Sentinels
 * have a password of their own and, when certificates are given, a TLS port besides the plain
 * one (which they use among themselves). Every process is stopped by PID when the test is done.
 *
 * The sentinels declare the primary down after DOWN_AFTER_MS, so that a killed primary is
 * replaced within a few seconds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RedisQuery, type Reply } from './redis-query.js';
import { freePort, spawnServer, startRedis, waitForPort, type RedisServer } from './redis-server.js';

/** Time without a reply after which a sentinel considers an instance down. */
export const DOWN_AFTER_MS = 1000;
/** Sentinel's failover-timeout: also the pause before the same sentinel tries another failover of the primary. */
const FAILOVER_TIMEOUT_MS = 3000;

export interface SentinelProcess {
  readonly port: number;
  /** The TLS port, 0 without certificates. */
  readonly tlsPort: number;
  stop(): Promise<void>;
}

/** PEM files for the sentinels' TLS ports. */
export interface SentinelTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export interface SentinelSetupOptions {
  readonly masterName?: string;
  readonly password?: string;
  readonly sentinelPassword?: string;
  /** Gives each sentinel a TLS port with this certificate too. */
  readonly tls?: SentinelTlsFiles;
}

export interface RedisSentinelSetup {
  readonly masterName: string;
  /** requirepass and masterauth of the data nodes. */
  readonly password: string;
  /** requirepass of the sentinels. */
  readonly sentinelPassword: string;
  /** The data nodes in start order: the first primary, then the two replicas. */
  readonly nodes: readonly RedisServer[];
  readonly sentinels: readonly SentinelProcess[];
  /** Sentinel addresses as `127.0.0.1:PORT`. */
  readonly sentinelAddresses: readonly string[];
  /** Addresses of the sentinels' TLS ports; empty without certificates. */
  readonly sentinelTlsAddresses: readonly string[];
  /** Returns the port of the primary once every sentinel names the same one (after a failover, some learn of it later). */
  primaryPort(): Promise<number>;
  /** Sends `SENTINEL <args>` to sentinel `index` and returns its reply. */
  sentinel(index: number, args: readonly string[]): Promise<Reply>;
  /**
   * Waits until a failover has ended everywhere: no sentinel still runs it, all name the same
   * primary, and every running data node other than the primary replicates it. An old primary
   * that still reports the master role is made a replica at once, as the sentinels would do
   * some 10 s later.
   */
  settle(): Promise<void>;
  /**
   * Starts one more sentinel that monitors the current primary without the data nodes'
   * password. It can neither read the data nodes nor exchange hello messages with the other
   * sentinels, so it keeps naming that primary after a failover, as a sentinel cut off by a
   * network partition does. `primaryPort` and `settle` do not ask it.
   */
  startCutOffSentinel(): Promise<SentinelProcess>;
  stop(): Promise<void>;
}

/** Starts the primary, two replicas and three sentinels, and waits until the sentinels know each other and both replicas. */
export async function startRedisSentinel(options: SentinelSetupOptions = {}): Promise<RedisSentinelSetup> {
  const { masterName = 'mymaster', password = 'upstream-secret', sentinelPassword = 'sentinel-secret' } = options;
  const dir = mkdtempSync(path.join(tmpdir(), 'respguard-sentinel-'));
  const nodes: RedisServer[] = [];
  const sentinels: SentinelProcess[] = [];
  const cutOffSentinels: SentinelProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all([...sentinels, ...cutOffSentinels, ...nodes].map((process) => process.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Without a delay, a replica gets its first full copy at once instead of after the default 5 s.
    const nodeArgs = ['--masterauth', password, '--repl-diskless-sync-delay', '0'];
    nodes.push(await startRedis({ password, args: nodeArgs }));
    const primary = nodes[0]!.port;
    for (let i = 0; i < 2; i++) nodes.push(await startRedis({ password, args: [...nodeArgs, '--replicaof', '127.0.0.1', String(primary)] }));
    await Promise.all(nodes.slice(1).map((node) => waitForReplicaLink(node.port, password)));
    for (let i = 0; i < 3; i++) sentinels.push(await startSentinel(dir, i, { masterName, primary, password, sentinelPassword, tls: options.tls }));
    const setup: RedisSentinelSetup = {
      masterName,
      password,
      sentinelPassword,
      nodes,
      sentinels,
      sentinelAddresses: sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`),
      sentinelTlsAddresses: options.tls ? sentinels.map((sentinel) => `127.0.0.1:${sentinel.tlsPort}`) : [],
      async primaryPort(timeoutMs = 10_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const replies = await Promise.all(sentinels.map((_, i) => setup.sentinel(i, ['GET-MASTER-ADDR-BY-NAME', masterName]).catch(() => null)));
          const ports = new Set(replies.map((reply) => (Array.isArray(reply) ? Number(reply[1]) : 0)));
          if (ports.size === 1 && !ports.has(0)) return [...ports][0]!;
          if (Date.now() > deadline) throw new Error(`the sentinels do not agree on the primary: ${JSON.stringify(replies)}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      sentinel: (index, args) => query(sentinels[index]!.port, sentinelPassword, ['SENTINEL', ...args]),
      async settle(timeoutMs = 10_000) {
        const deadline = Date.now() + timeoutMs;
        for (let i = 0; i < sentinels.length; i++) {
          while ((fieldsOf(await setup.sentinel(i, ['MASTER', masterName])).get('flags') ?? '').includes('failover_in_progress')) {
            if (Date.now() > deadline) throw new Error(`sentinel ${i} still runs a failover after ${timeoutMs} ms`);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        const primary = await setup.primaryPort();
        const replicas = nodes.filter((node) => node.port !== primary && node.process.exitCode === null && node.process.signalCode === null);
        for (const replica of replicas) {
          const role = await query(replica.port, password, ['ROLE']);
          if (Array.isArray(role) && role[0] === 'master') await query(replica.port, password, ['REPLICAOF', '127.0.0.1', String(primary)]);
        }
        await Promise.all(replicas.map((replica) => waitForReplicaLink(replica.port, password, primary)));
      },
      async startCutOffSentinel() {
        const primary = await setup.primaryPort();
        const index = sentinels.length + cutOffSentinels.length;
        const sentinel = await startSentinel(dir, index, { masterName, primary, password: null, sentinelPassword, tls: options.tls });
        cutOffSentinels.push(sentinel);
        return sentinel;
      },
      stop,
    };
    await waitForSentinelsToMeet(setup);
    return setup;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Sends one command to 127.0.0.1:port after AUTH with `password`, and closes the connection. */
export async function query(port: number, password: string, args: readonly string[]): Promise<Reply> {
  const connection = await RedisQuery.connect(port);
  try {
    const [auth, reply] = await connection.pipeline([['AUTH', password], args]);
    if (auth !== 'OK') throw new Error(`AUTH on ${port} failed: ${JSON.stringify(auth)}`);
    return reply!;
  } finally {
    connection.close();
  }
}

/** Reads the fields of a reply made of name and value pairs (SENTINEL MASTER, SENTINEL REPLICAS entries). */
export function fieldsOf(reply: Reply): Map<string, string> {
  const fields = new Map<string, string>();
  if (!Array.isArray(reply)) return fields;
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), String(reply[i + 1]));
  return fields;
}

/** Waits until the replica on `port` has its link up, to the primary on `primary` when given. */
async function waitForReplicaLink(port: number, password: string, primary?: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await query(port, password, ['INFO', 'replication']);
    const linked = typeof info === 'string' && info.includes('master_link_status:up') && (primary === undefined || info.includes(`master_port:${primary}\r\n`));
    if (linked) return;
    if (Date.now() > deadline) throw new Error(`replica ${port} has no link to its primary after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface SentinelSettings {
  readonly masterName: string;
  readonly primary: number;
  /** The data nodes' password (`sentinel auth-pass`); null leaves it out. */
  readonly password: string | null;
  readonly sentinelPassword: string;
  readonly tls: SentinelTlsFiles | undefined;
}

async function startSentinel(dir: string, index: number, settings: SentinelSettings): Promise<SentinelProcess> {
  const port = await freePort();
  const tlsPort = settings.tls ? await freePort() : 0;
  const tlsLines = settings.tls
    ? [`tls-port ${tlsPort}`, `tls-cert-file ${settings.tls.certFile}`, `tls-key-file ${settings.tls.keyFile}`, `tls-ca-cert-file ${settings.tls.caFile}`, 'tls-auth-clients optional']
    : [];
  const file = path.join(dir, `sentinel-${index}.conf`);
  // Sentinel rewrites its config file as it learns the topology, so each one needs its own.
  writeFileSync(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `requirepass ${settings.sentinelPassword}`,
      `sentinel sentinel-pass ${settings.sentinelPassword}`,
      `sentinel monitor ${settings.masterName} 127.0.0.1 ${settings.primary} 2`,
      ...(settings.password === null ? [] : [`sentinel auth-pass ${settings.masterName} ${settings.password}`]),
      `sentinel down-after-milliseconds ${settings.masterName} ${DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${settings.masterName} ${FAILOVER_TIMEOUT_MS}`,
      ...tlsLines,
      '',
    ].join('\n'),
  );
  const server = await spawnServer([file, '--sentinel'], port);
  if (tlsPort !== 0) await waitForPort(tlsPort);
  return { port, tlsPort, stop: () => server.stop() };
}

/**
 * Waits until every sentinel has found the two others and both replicas, so that a failover can
 * reach its quorum and pick a replica.
 */
async function waitForSentinelsToMeet(setup: RedisSentinelSetup, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < setup.sentinels.length; i++) {
    for (;;) {
      const fields = fieldsOf(await setup.sentinel(i, ['MASTER', setup.masterName]));
      if (fields.get('num-other-sentinels') === '2' && fields.get('num-slaves') === '2') break;
      if (Date.now() > deadline) throw new Error(`sentinel ${i} did not meet the others and the replicas within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
