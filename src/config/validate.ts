/**
 * Validation of the expanded YAML tree into a Config: the top-level keys, listeners, metrics,
 * limits and logging (upstream and users have their own modules). Every error is reported to
 * the FieldReader's ConfigProblems and reading goes on, so one load lists all errors. The
 * result is complete only when no error was reported.
 */
import tls from 'node:tls';
import { LIMITS_DEFAULTS, LISTENER_DEFAULTS, TOP_LEVEL_DEFAULTS } from './defaults.js';
import { FieldReader, isAbsent, type Section } from './fields.js';
import { fieldPath, indexPath } from './problems.js';
import { checkProtectedMode } from './protected-mode.js';
import type { ClientAuth, Config, LimitsConfig, ListenerConfig, ListenerTlsConfig, MetricsConfig } from './types.js';
import { readAudit } from './validate-audit.js';
import { readUpstream } from './validate-upstream.js';
import { checkReplicaReads, readBlockCommands, readUsers } from './validate-users.js';

const TOP_LEVEL_KEYS = [
  'listeners',
  'upstream',
  'blockCommands',
  'metrics',
  'workers',
  'audit',
  'users',
  'limits',
  'log',
  'shutdownTimeoutMs',
] as const;
const LISTENER_KEYS = ['host', 'port', 'tls', 'sources', 'allowPlaintext'];
const LISTENER_TLS_KEYS = ['cert', 'key', 'ca', 'clientAuth', 'minVersion', 'ciphers'];
const CLIENT_AUTH_VALUES: readonly ClientAuth[] = ['none', 'request', 'require'];
const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const METRICS_DEFAULTS = { host: '127.0.0.1', port: 9121 };

/**
 * Validates the whole tree. Returns the Config when every field is valid; otherwise the
 * errors are in `reader.problems` and the result is undefined.
 */
export function validateConfig(tree: unknown, reader: FieldReader, absoluteFile: string): Config | undefined {
  if (isAbsent(tree)) {
    reader.problems.add('', 'the file is empty: expected a YAML map with at least listeners and users');
    return undefined;
  }
  const root = reader.map('', tree, TOP_LEVEL_KEYS, { expected: 'a YAML map with at least listeners and users' });
  if (root === undefined) return undefined;

  const listeners = readListeners(reader, root.listeners);
  const upstream = readUpstream(reader, root.upstream);
  const blockCommands = readBlockCommands(reader, root.blockCommands);
  const metrics = readMetrics(reader, root.metrics);
  const workers = readWorkers(reader, root.workers);
  const users = readUsers(reader, root.users);
  const audit = readAudit(reader, root.audit, definedUserNames(root.users));
  const limits = readLimits(reader, root.limits);
  const log = reader.map('log', root.log, ['level'], { expected: 'a map with the key level' });
  const level = reader.choice('log.level', log?.level, LOG_LEVELS, { fallback: TOP_LEVEL_DEFAULTS.logLevel });
  const shutdownTimeoutMs = reader.integer('shutdownTimeoutMs', root.shutdownTimeoutMs, { min: 0 }, {
    fallback: TOP_LEVEL_DEFAULTS.shutdownTimeoutMs,
  });

  // The cross checks also run on the valid part of a section, so that one load reports them
  // together with the field errors.
  checkProtectedMode(reader.problems, listeners, users);
  checkReplicaReads(reader, users.valid, upstream?.mode);
  if (metrics) checkMetricsAddress(reader, listeners.valid, metrics);

  if (
    !listeners.complete ||
    upstream === undefined ||
    blockCommands === undefined ||
    metrics === null ||
    workers === undefined ||
    audit === null ||
    !users.complete ||
    limits === undefined ||
    level === undefined ||
    shutdownTimeoutMs === undefined ||
    reader.problems.messages.length > 0
  ) {
    return undefined;
  }
  return {
    file: absoluteFile,
    listeners: listeners.valid,
    upstream,
    blockCommands,
    ...(metrics === undefined ? {} : { metrics }),
    workers,
    ...(audit === undefined ? {} : { audit }),
    users: users.valid,
    limits,
    log: { level },
    shutdownTimeoutMs,
  };
}

function readListeners(reader: FieldReader, value: unknown): Section<ListenerConfig[]> {
  const expected = 'a non-empty list of listeners, each with host and port';
  const items = reader.list('listeners', value, { required: true, nonEmpty: true, expected });
  if (items === undefined) return { valid: [], complete: false };

  const valid: ListenerConfig[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const listener = readListener(reader, indexPath('listeners', i), item);
    if (listener === undefined) return;
    valid.push(listener);

    const address = `${listener.host}:${listener.port}`;
    const first = seen.get(address);
    if (first === undefined) seen.set(address, i);
    else reader.problems.add(indexPath('listeners', i), `duplicate address ${address}, also used by listeners[${first}]: give each listener its own host and port`);
  });
  return { valid, complete: valid.length === items.length };
}

function readListener(reader: FieldReader, at: string, value: unknown): ListenerConfig | undefined {
  const fields = reader.map(at, value, LISTENER_KEYS, { required: true, expected: 'a map with host and port' });
  if (fields === undefined) return undefined;

  const host = reader.host(fieldPath(at, 'host'), fields.host, { required: true });
  const port = reader.port(fieldPath(at, 'port'), fields.port, { required: true });
  const tls = isAbsent(fields.tls) ? null : readListenerTls(reader, fieldPath(at, 'tls'), fields.tls);
  const sources = isAbsent(fields.sources) ? null : reader.cidrList(fieldPath(at, 'sources'), fields.sources);
  const allowPlaintext = reader.boolean(fieldPath(at, 'allowPlaintext'), fields.allowPlaintext, {
    fallback: LISTENER_DEFAULTS.allowPlaintext,
  });

  if (host === undefined || port === undefined || tls === undefined || sources === undefined || allowPlaintext === undefined) {
    return undefined;
  }
  return {
    host,
    port,
    ...(tls === null ? {} : { tls }),
    ...(sources === null ? {} : { sources }),
    allowPlaintext,
  };
}

function readListenerTls(reader: FieldReader, at: string, value: unknown): ListenerTlsConfig | undefined {
  const fields = reader.map(at, value, LISTENER_TLS_KEYS, { expected: 'a map with cert and key' });
  if (fields === undefined) return undefined;

  const cert = reader.file(fieldPath(at, 'cert'), fields.cert, { required: true });
  const key = reader.file(fieldPath(at, 'key'), fields.key, { required: true });
  const ca = isAbsent(fields.ca) ? null : reader.file(fieldPath(at, 'ca'), fields.ca);
  const clientAuth = reader.choice(fieldPath(at, 'clientAuth'), fields.clientAuth, CLIENT_AUTH_VALUES, {
    fallback: LISTENER_DEFAULTS.clientAuth,
  });
  const minVersion = reader.choice(fieldPath(at, 'minVersion'), fields.minVersion, TLS_VERSIONS, {
    fallback: LISTENER_DEFAULTS.minVersion,
  });
  const ciphers = isAbsent(fields.ciphers) ? null : readCiphers(reader, fieldPath(at, 'ciphers'), fields.ciphers);

  if (clientAuth !== undefined && clientAuth !== 'none' && isAbsent(fields.ca)) {
    reader.problems.add(
      fieldPath(at, 'clientAuth'),
      `"${clientAuth}" needs tls.ca, the CA file that signs the client certificates: add tls.ca or set clientAuth: none`,
    );
    return undefined;
  }
  if (cert === undefined || key === undefined || ca === undefined || clientAuth === undefined || minVersion === undefined || ciphers === undefined) {
    return undefined;
  }
  return {
    cert,
    key,
    ...(ca === null ? {} : { ca }),
    clientAuth,
    minVersion,
    ...(ciphers === null ? {} : { ciphers }),
  };
}

/** Reads an OpenSSL cipher list, checked by OpenSSL itself so that a typo stops the load rather than every handshake. */
function readCiphers(reader: FieldReader, at: string, value: unknown): string | undefined {
  const ciphers = reader.string(at, value);
  if (ciphers === undefined) return undefined;
  try {
    tls.createSecureContext({ ciphers });
  } catch (error) {
    reader.problems.invalid(at, ciphers, `an OpenSSL cipher list such as "ECDHE+AESGCM:ECDHE+CHACHA20" (${(error as Error).message})`);
    return undefined;
  }
  return ciphers;
}

/** Returns the metrics address, undefined when the section is absent, or null when it is invalid. */
function readMetrics(reader: FieldReader, value: unknown): MetricsConfig | undefined | null {
  if (isAbsent(value)) return undefined;
  const fields = reader.map('metrics', value, ['host', 'port'], { expected: 'a map with host and port' });
  if (fields === undefined) return null;

  const host = reader.host('metrics.host', fields.host, { fallback: METRICS_DEFAULTS.host });
  const port = reader.port('metrics.port', fields.port, { fallback: METRICS_DEFAULTS.port });
  return host === undefined || port === undefined ? null : { host, port };
}

function checkMetricsAddress(reader: FieldReader, listeners: readonly ListenerConfig[], metrics: MetricsConfig): void {
  const index = listeners.findIndex((listener) => listener.host === metrics.host && listener.port === metrics.port);
  if (index !== -1) {
    reader.problems.add('metrics.port', `address ${metrics.host}:${metrics.port} is also used by listeners[${index}]: choose another port`);
  }
}

function readWorkers(reader: FieldReader, value: unknown): number | 'auto' | undefined {
  if (value === 'auto') return 'auto';
  return reader.integer('workers', value, { min: 1 }, {
    fallback: TOP_LEVEL_DEFAULTS.workers,
    expected: 'a positive integer, or "auto" for one process per CPU core',
  });
}

/** Names under `users`, valid or not, so that an invalid user entry is not reported twice. */
function definedUserNames(value: unknown): ReadonlySet<string> {
  return new Set(value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : []);
}

function readLimits(reader: FieldReader, value: unknown): LimitsConfig | undefined {
  const names = Object.keys(LIMITS_DEFAULTS) as (keyof LimitsConfig)[];
  const fields = reader.map('limits', value, names, { expected: `a map with any of ${names.join(', ')}` }) ?? {};

  const limits: Partial<Record<keyof LimitsConfig, number>> = {};
  for (const name of names) {
    limits[name] = reader.integer(fieldPath('limits', name), fields[name], { min: 1 }, { fallback: LIMITS_DEFAULTS[name] });
  }
  return names.every((name) => limits[name] !== undefined) ? (limits as LimitsConfig) : undefined;
}
