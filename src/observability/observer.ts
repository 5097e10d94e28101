/**
 * The events that the data path reports for logs, audit and metrics. Sessions, listeners and
 * the pool call these methods and know nothing about how they are recorded; the default
 * observer below only writes audit lines, and the metrics module adds counters behind the same
 * interface. Label values passed here come from the command table and the policy only, never
 * from client input, so that metric cardinality stays bounded.
 */
import type { Logger } from './logger.js';

/** Outcome of one command, as counted per user and command. */
export type CommandResult = 'allowed' | 'denied' | 'blocked' | 'rejected' | 'upstream_error';

/** The listener, client address and session of a security event, for audit lines. */
export interface EventSource {
  readonly listener: string;
  readonly remote: string;
  readonly session: number;
}

export interface ProxyObserver {
  clientConnected(listener: string): void;
  clientDisconnected(listener: string): void;
  /** `user` is the user name when the policy has it, else undefined; `via` is AUTH, HELLO or a certificate. */
  authSucceeded(source: EventSource, user: string, via: string): void;
  authFailed(source: EventSource, user: string | undefined, via: string, reason: string): void;
  /**
   * One finished command. `command` is the table's full name, or 'unknown'. `proxyNs` is the
   * time respguard added, `upstreamNs` the upstream round trip (0 for local replies).
   */
  commandDone(user: string, command: string, result: CommandResult, proxyNs: number, upstreamNs: number): void;
  /**
   * True while the per-command audit stream records some user's commands. Sessions read it
   * after each commandDone and call commandAudited only when it is true, so that the stream
   * costs nothing while it is off.
   */
  readonly auditsCommands: boolean;
  /** True when the per-command audit stream records key names, so that sessions pass them. */
  readonly auditsKeys: boolean;
  /**
   * The same finished command as commandDone, with the session it came from, for the
   * per-command audit stream; `keys` are its key names when `auditsKeys` is true.
   */
  commandAudited(source: EventSource, user: string, command: string, result: CommandResult, proxyNs: number, upstreamNs: number, keys?: readonly string[]): void;
  commandDenied(source: EventSource, user: string, command: string, reason: string): void;
  commandBlocked(source: EventSource, user: string, command: string): void;
  /** A client disconnected for crossing a limit (`output_buffer`, `query_buffer_limit`, `max_clients`, a protocol error kind). */
  limitDisconnect(source: EventSource | null, reason: string, user: string | undefined): void;
  bytes(direction: 'in' | 'out', count: number): void;
  tlsHandshakeFailed(listener: string, remote: string, reason: string): void;
}

/** Creates the observer used when no metrics module is installed: audit lines only, through pino. */
export function createLoggingObserver(logger: Logger): ProxyObserver {
  return {
    clientConnected() {},
    clientDisconnected() {},
    authSucceeded(source, user, via) {
      logger.debug({ ...source, user, via }, 'authenticated');
    },
    authFailed(source, user, via, reason) {
      logger.warn({ event: 'auth_failed', ...source, user, via, reason }, 'authentication failed');
    },
    commandDone() {},
    auditsCommands: false,
    auditsKeys: false,
    commandAudited() {},
    commandDenied(source, user, command, reason) {
      logger.warn({ event: 'denied', ...source, user, command, reason }, 'command denied by ACL');
    },
    commandBlocked(source, user, command) {
      logger.warn({ event: 'blocked', ...source, user, command }, 'command blocked by blockCommands');
    },
    limitDisconnect(source, reason, user) {
      logger.warn({ event: 'limit', ...source, reason, user }, 'client disconnected at a limit');
    },
    bytes() {},
    tlsHandshakeFailed(listener, remote, reason) {
      logger.warn({ event: 'tls_handshake_failed', listener, remote, reason }, 'TLS handshake failed');
    },
  };
}
