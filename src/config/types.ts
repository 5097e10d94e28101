/**
 * The validated, normalized configuration. Field names follow the configuration contract in
 * the README; defaults are filled in by the loader, so every field here has a value.
 */

export type ClientAuth = 'none' | 'request' | 'require';

export interface ListenerTlsConfig {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
  readonly clientAuth: ClientAuth;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers?: string;
}

export interface ListenerConfig {
  readonly host: string;
  readonly port: number;
  readonly tls?: ListenerTlsConfig;
  /** CIDR allowlist of client addresses; absent = any address. */
  readonly sources?: readonly string[];
  readonly allowPlaintext: boolean;
}

export interface UpstreamTlsConfig {
  readonly ca?: string;
  readonly servername?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
}

export interface UpstreamConfig {
  readonly mode: 'standalone' | 'sentinel' | 'cluster';
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: UpstreamTlsConfig;
  readonly pool: {
    /** Shared connections per protocol version (RESP2 and RESP3 each get this many). */
    readonly size: number;
    /** Most upstream connections pinned to single sessions at once; 0 turns stateful commands off. */
    readonly maxPinned: number;
  };
  /** Seed nodes in cluster mode, as `host:port`. */
  readonly nodes?: readonly string[];
  /** Sentinel mode: where the sentinels are and how respguard logs in to them (not to Redis). */
  readonly sentinel?: {
    readonly masterName: string;
    /** Sentinel addresses as `host:port`. */
    readonly nodes: readonly string[];
    readonly username?: string;
    readonly password?: string;
    /** TLS to the sentinels; absent means plain TCP. */
    readonly tls?: UpstreamTlsConfig;
  };
  readonly connectTimeoutMs: number;
  /** Time an upstream request may stay unanswered before its connection is considered stalled; 0 = no limit. */
  readonly commandTimeoutMs: number;
}

export interface UserConfig {
  /** Redis ACL rule string, as for `ACL SETUSER`. */
  readonly acl: string;
  readonly certificates?: readonly string[];
  readonly requireCertificate: boolean;
  readonly sources?: readonly string[];
  /** `false` puts the user in report-only mode: denials are logged and counted, and the command is forwarded. Absent means true. */
  readonly enforce?: boolean;
  /**
   * `true` allows scripts and functions, which run beyond the user's rules and the blocklist. Absent
   * means false: scripts then run only for a user allowed everything while `blockCommands` is empty.
   */
  readonly allowScripts?: boolean;
  /**
   * SCAN, KEYS and RANDOMKEY list only keys this user may read; `false` restores Redis's plain
   * behaviour, which lists every key. Absent means true.
   */
  readonly filterKeyListings?: boolean;
  /**
   * Sentinel mode only: `true` sends this user's read-only commands outside transactions and
   * other connection state to a replica, when one is ready. Absent means false.
   */
  readonly readFromReplicas?: boolean;
}

export interface LimitsConfig {
  /** Maximum length of a bulk string in a request, in bytes (Redis's proto-max-bulk-len). */
  readonly maxBulkLength: number;
  /** Maximum number of arguments in one multibulk request. */
  readonly maxMultibulkLength: number;
  /** Most unprocessed request bytes buffered for one client (Redis's client-query-buffer-limit). */
  readonly maxQueryBuffer: number;
  /** Most reply bytes buffered for one client before it is disconnected. */
  readonly maxOutputBuffer: number;
  /** Most client connections at once, over all listeners. */
  readonly maxClients: number;
  /** Deepest nesting of an upstream reply. */
  readonly maxReplyDepth: number;
}

export interface MetricsConfig {
  readonly host: string;
  readonly port: number;
}

/** The per-command audit stream, which records every command of the selected users. */
export interface AuditConfig {
  /** `all`, or the names of the users whose commands are recorded; an empty list records none. */
  readonly commands: 'all' | readonly string[];
  /** Records the key names of each command too; absent means false. */
  readonly keys?: boolean;
}

export interface Config {
  /** Absolute path of the file this config was loaded from. */
  readonly file: string;
  readonly listeners: readonly ListenerConfig[];
  readonly upstream: UpstreamConfig;
  /** Upper-case command names, or `NAME|SUBCOMMAND`, that respguard never forwards. */
  readonly blockCommands: readonly string[];
  readonly metrics?: MetricsConfig;
  readonly workers: number | 'auto';
  /** Absent when the file has no `audit` section: no per-command audit stream. */
  readonly audit?: AuditConfig;
  readonly users: Readonly<Record<string, UserConfig>>;
  readonly limits: LimitsConfig;
  readonly log: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  readonly shutdownTimeoutMs: number;
}
