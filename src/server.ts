/**
 * Wires the data path together: listeners accept client sockets, each socket gets a Session,
 * sessions forward through the UpstreamPool, and the policy and command table are shared
 * through one ProxyContext that reload and table refreshes replace as whole objects.
 */
import type net from 'node:net';
import { CommandTable } from './commands/table.js';
import { recordsFromCommandReply } from './commands/from-command-reply.js';
import type { Config } from './config/types.js';
import { startListener, type Listener } from './listener/listener.js';
import type { Readiness } from './observability/http.js';
import type { Logger } from './observability/logger.js';
import { createLoggingObserver, type ProxyObserver } from './observability/observer.js';
import { RespguardError } from './errors.js';
import { AclLog } from './acl/acl-log.js';
import { buildPolicy } from './policy.js';
import { Session, type ProxyContext } from './session/session.js';
import { MAX_CLIENTS } from './session/texts.js';
import type { UpstreamConnection } from './upstream/connection.js';
import { UpstreamPool } from './upstream/pool.js';
import { ClusterPool } from './upstream/cluster/cluster-pool.js';
import { SentinelPool } from './upstream/sentinel/sentinel-pool.js';
import { decodeResp2 } from './upstream/resp2-decode.js';

export interface RunningServer {
  /** Stops accepting, answers every request already received, and closes within `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
  /** Replaces users, rules and the blocklist with those of `config`; throws and keeps the running policy when it does not compile. */
  reload(config: Config): Promise<void>;
  /**
   * Reads the TLS certificates and keys of every listener again; new handshakes use them and
   * established connections stay. Throws when a listener rejected its new files (it keeps the old ones).
   */
  reloadTls(): Promise<void>;
  /** True when the upstream can serve requests: in cluster mode, when every primary of the slot map has ready connections. */
  isReady(): boolean;
  /** The same state as isReady, with the reason for `/readyz` when not ready. */
  readiness(): Readiness;
  /** Listener addresses in the order of the config, with the ports actually bound. */
  readonly addresses: readonly { host: string; port: number }[];
  readonly context: ProxyContext;
}

export async function startServer(config: Config, options: { logger: Logger; observer?: ProxyObserver }): Promise<RunningServer> {
  const logger = options.logger;
  const observer = options.observer ?? createLoggingObserver(logger);
  let currentConfig = config;
  const table = CommandTable.default();
  // In cluster mode, `pool` is the first seed's, for its server facts; the cluster routes every
  // request. In sentinel mode, `pool` is the primary's, whichever node that is at the time.
  const cluster = config.upstream.mode === 'cluster' ? new ClusterPool(config.upstream, config.limits, logger) : null;
  const sentinel = config.upstream.mode === 'sentinel' ? new SentinelPool(config.upstream, config.limits, logger) : null;
  let pool: UpstreamPool;
  if (cluster) pool = cluster.keylessPool();
  else if (sentinel) pool = sentinel.primaryPool;
  else pool = new UpstreamPool(config.upstream, config.limits, logger);
  const topology = cluster ?? sentinel ?? pool;
  const sessions = new Map<number, Session>();
  const context: ProxyContext = {
    table,
    policy: buildPolicy(config, table),
    pool,
    ...(cluster ? { cluster } : {}),
    ...(sentinel ? { sentinel } : {}),
    limits: config.limits,
    logger,
    observer,
    sessions,
    // One log for the process, kept across reloads, as Redis keeps its ACL LOG.
    aclLog: new AclLog(),
  };
  let nextSessionId = 1;

  // In cluster mode, the first connection ready on any node, at start or after every node was down.
  (cluster ?? pool).on('first-ready', (connection: UpstreamConnection) => refreshCommandTable(connection, context, () => currentConfig));
  topology.start();

  const onSocket = (socket: net.Socket, label: string): void => {
    if (sessions.size >= context.limits.maxClients) {
      observer.limitDisconnect({ listener: label, remote: `${socket.remoteAddress}:${socket.remotePort}`, session: 0 }, 'max_clients', undefined);
      socket.end(MAX_CLIENTS);
      return;
    }
    const session = new Session(nextSessionId++, socket, context, label, (closed) => sessions.delete(closed.id));
    sessions.set(session.id, session);
  };

  const listeners: Listener[] = [];
  try {
    for (const listenerConfig of config.listeners) listeners.push(await startListener(listenerConfig, observer, onSocket, { logger }));
  } catch (error) {
    for (const listener of listeners) await listener.close();
    topology.close();
    throw error;
  }

  const addresses = listeners.map((listener) => {
    const address = listener.server.address() as net.AddressInfo;
    return { host: address.address, port: address.port };
  });
  logger.info(
    {
      event: 'start',
      listeners: listeners.map((listener) => listener.label),
      upstream: sentinel ? `sentinel ${config.upstream.sentinel!.masterName}` : pool.address,
      users: Object.keys(config.users).length,
      blockedCommands: config.blockCommands.length,
    },
    'respguard started',
  );

  return {
    addresses,
    context,
    isReady: () => cluster?.isReady ?? pool.isReady,
    readiness(): Readiness {
      if (cluster) {
        const reason = cluster.notReadyReason();
        return reason === null ? { ready: true } : { ready: false, reason };
      }
      return pool.isReady ? { ready: true } : { ready: false, reason: 'no upstream connection is ready' };
    },
    async reloadTls() {
      const results = await Promise.allSettled(listeners.map((listener) => listener.reloadTls()));
      const failures = results
        .map((result, i) => (result.status === 'rejected' ? `${listeners[i]!.label}: ${(result.reason as Error).message}` : null))
        .filter((failure): failure is string => failure !== null);
      if (failures.length > 0) throw new RespguardError('RG_ERR_CONFIG', failures.join('\n'));
    },
    async reload(newConfig: Config) {
      const policy = buildPolicy(newConfig, context.table);
      context.policy = policy;
      // New sessions take the new limits; the output buffer limit applies to open sessions too.
      context.limits = newConfig.limits;
      currentConfig = newConfig;
      // Sessions of removed or disabled users close now; the others take their new rules here too.
      for (const session of sessions.values()) session.refreshUser();
      if (JSON.stringify(newConfig.listeners) !== JSON.stringify(config.listeners) || JSON.stringify(newConfig.upstream) !== JSON.stringify(config.upstream)) {
        logger.warn({ event: 'reload' }, 'listener and upstream changes take effect only after a restart');
      }
      logger.info({ event: 'reload', result: 'ok', users: policy.users.size }, 'config reloaded');
    },
    async close(timeoutMs = config.shutdownTimeoutMs) {
      logger.info({ event: 'stop', sessions: sessions.size }, 'respguard stopping');
      const listenersClosed = Promise.all(listeners.map((listener) => listener.close()));
      for (const session of sessions.values()) session.shutdown();
      // Wait until every reply owed is written; a client that stays connected after that is closed.
      const deadline = Date.now() + timeoutMs;
      const owed = (): boolean => [...sessions.values()].some((session) => !session.drained);
      while (owed() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const session of sessions.values()) session.destroy();
      topology.close();
      await Promise.race([listenersClosed, new Promise((resolve) => setTimeout(resolve, 100))]);
      logger.info({ event: 'stop' }, 'respguard stopped');
    },
  };
}

/**
 * Reads the upstream's COMMAND reply so that commands of newer Redis versions and modules are
 * known, then recompiles the policy against the new table. On any failure the current table stays.
 */
function refreshCommandTable(connection: UpstreamConnection, context: ProxyContext, config: () => Config): void {
  connection.sendInternal(['COMMAND'], (bytes) => {
    try {
      const table = CommandTable.fromRecords(recordsFromCommandReply(decodeResp2(bytes)));
      const policy = buildPolicy(config(), table);
      context.table = table;
      context.policy = policy;
      const fields = { event: 'command_table', commands: table.size, upstream: `${connection.options.host}:${connection.options.port}`, upstreamVersion: connection.facts?.version };
      context.logger.info(fields, 'command table refreshed from the upstream');
    } catch (error) {
      context.logger.warn({ event: 'command_table', error: (error as Error).message }, 'could not refresh the command table from the upstream; keeping the built-in table');
    }
  });
}
