/**
 * Default values of the configuration, in one place. The validator fills every field that the
 * file leaves out from here, so the rest of respguard never handles an absent setting. Each value
 * below is the documented default of its key.
 */
import type { LimitsConfig } from './types.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** Defaults of the `upstream` section. */
export const UPSTREAM_DEFAULTS = {
  mode: 'standalone',
  host: '127.0.0.1',
  port: 6379,
  poolSize: 4,
  /**
   * Connections of their own that sessions may hold at once (transactions, pub/sub, blocking
   * commands, SELECT of another database, tracking). Each is a Redis client connection.
   */
  maxPinned: 1000,
  /** Time allowed to open a TCP (and TLS) connection to Redis, in ms. */
  connectTimeoutMs: 5000,
  /**
   * 0 = no limit, because blocking commands such as `BLPOP key 0` legitimately wait forever
   * and a default limit would break them. Set a limit when upstream stalls must be detected.
   */
  commandTimeoutMs: 0,
  /** Upstream TLS verifies the server certificate unless the file turns it off. */
  rejectUnauthorized: true,
} as const;

/** Defaults of a listener and its `tls` section. */
export const LISTENER_DEFAULTS = {
  allowPlaintext: false,
  /**
   * `none`, also when `ca` is given: whether client certificates are requested or required
   * changes who can connect, so respguard does not guess it from the presence of a CA.
   */
  clientAuth: 'none',
  minVersion: 'TLSv1.2',
} as const;

/** Defaults of the `limits` section. Sizes are in bytes. */
export const LIMITS_DEFAULTS: LimitsConfig = {
  maxBulkLength: 512 * MIB,
  maxMultibulkLength: 1_048_576,
  maxQueryBuffer: GIB,
  maxOutputBuffer: GIB,
  maxClients: 10_000,
  maxReplyDepth: 1000,
};

/** Defaults of the remaining top-level keys. */
export const TOP_LEVEL_DEFAULTS = {
  workers: 1,
  logLevel: 'info',
  /** Time that open connections get to finish after SIGTERM before they are closed, in ms. */
  shutdownTimeoutMs: 10_000,
} as const;
