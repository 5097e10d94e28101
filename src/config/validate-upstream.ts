/**
 * Validation of the `upstream` section: where Redis is, how respguard authenticates to it, and
 * how it finds the nodes in cluster and sentinel mode. An absent section means a standalone
 * Redis on 127.0.0.1:6379 without password.
 */
import { UPSTREAM_DEFAULTS } from './defaults.js';
import { FieldReader, isAbsent } from './fields.js';
import { fieldPath } from './problems.js';
import type { UpstreamConfig, UpstreamTlsConfig } from './types.js';

const UPSTREAM_KEYS = [
  'host',
  'port',
  'username',
  'password',
  'tls',
  'pool',
  'mode',
  'nodes',
  'sentinel',
  'connectTimeoutMs',
  'commandTimeoutMs',
];
const UPSTREAM_TLS_KEYS = ['ca', 'servername', 'cert', 'key', 'rejectUnauthorized'];
const SENTINEL_KEYS = ['masterName', 'nodes', 'username', 'password', 'tls'];
const MODES = ['standalone', 'sentinel', 'cluster'] as const;
const MAX_POOL_SIZE = 1024;

type Sentinel = NonNullable<UpstreamConfig['sentinel']>;

/** Validates the `upstream` section; undefined after an error. */
export function readUpstream(reader: FieldReader, value: unknown): UpstreamConfig | undefined {
  const fields = reader.map('upstream', value, UPSTREAM_KEYS, { expected: 'a map with host and port' }) ?? {};

  const mode = reader.choice('upstream.mode', fields.mode, MODES, { fallback: UPSTREAM_DEFAULTS.mode });
  const host = reader.host('upstream.host', fields.host, { fallback: UPSTREAM_DEFAULTS.host });
  const port = reader.port('upstream.port', fields.port, { fallback: UPSTREAM_DEFAULTS.port });
  const username = readCredential(reader, 'upstream.username', fields.username);
  const password = readCredential(reader, 'upstream.password', fields.password);
  const tls = isAbsent(fields.tls) ? null : readUpstreamTls(reader, 'upstream.tls', fields.tls);
  const pool = reader.map('upstream.pool', fields.pool, ['size', 'maxPinned'], { expected: 'a map with the keys size and maxPinned' });
  const poolSize = reader.integer('upstream.pool.size', pool?.size, { min: 1, max: MAX_POOL_SIZE }, {
    fallback: UPSTREAM_DEFAULTS.poolSize,
  });
  const maxPinned = reader.integer('upstream.pool.maxPinned', pool?.maxPinned, { min: 0, max: 1_000_000 }, {
    fallback: UPSTREAM_DEFAULTS.maxPinned,
  });
  const connectTimeoutMs = reader.integer('upstream.connectTimeoutMs', fields.connectTimeoutMs, { min: 1 }, {
    fallback: UPSTREAM_DEFAULTS.connectTimeoutMs,
  });
  const commandTimeoutMs = reader.integer('upstream.commandTimeoutMs', fields.commandTimeoutMs, { min: 0 }, {
    fallback: UPSTREAM_DEFAULTS.commandTimeoutMs,
  });
  const nodes = readClusterNodes(reader, mode, fields.nodes);
  const sentinel = readSentinel(reader, mode, fields.sentinel);
  const addressApplies = checkStandaloneAddress(reader, mode, fields);

  if (
    !addressApplies ||
    mode === undefined ||
    host === undefined ||
    port === undefined ||
    username === undefined ||
    password === undefined ||
    tls === undefined ||
    poolSize === undefined ||
    maxPinned === undefined ||
    connectTimeoutMs === undefined ||
    commandTimeoutMs === undefined ||
    nodes === undefined ||
    sentinel === undefined
  ) {
    return undefined;
  }
  return {
    mode,
    host,
    port,
    ...(username === null ? {} : { username }),
    ...(password === null ? {} : { password }),
    ...(tls === null ? {} : { tls }),
    pool: { size: poolSize, maxPinned },
    ...(nodes === null ? {} : { nodes }),
    ...(sentinel === null ? {} : { sentinel }),
    connectTimeoutMs,
    commandTimeoutMs,
  };
}

/**
 * Reads a username or password. Absent or empty means none (null), so that
 * `password: ${REDIS_PASSWORD:-}` works with and without the variable.
 */
function readCredential(reader: FieldReader, at: string, value: unknown): string | null | undefined {
  if (isAbsent(value) || value === '') return null;
  return reader.string(at, value, { allowEmpty: true, expected: 'a string (quote a value that YAML reads as a number)' });
}

/** Reads a TLS section to Redis nodes: `upstream.tls`, or `upstream.sentinel.tls` for the sentinels. */
function readUpstreamTls(reader: FieldReader, at: string, value: unknown): UpstreamTlsConfig | undefined {
  const fields = reader.map(at, value, UPSTREAM_TLS_KEYS, { expected: 'a map with any of ca, servername, cert, key' });
  if (fields === undefined) return undefined;

  const ca = isAbsent(fields.ca) ? null : reader.file(fieldPath(at, 'ca'), fields.ca);
  const servername = isAbsent(fields.servername) ? null : reader.host(fieldPath(at, 'servername'), fields.servername);
  const cert = isAbsent(fields.cert) ? null : reader.file(fieldPath(at, 'cert'), fields.cert);
  const key = isAbsent(fields.key) ? null : reader.file(fieldPath(at, 'key'), fields.key);
  const rejectUnauthorized = reader.boolean(fieldPath(at, 'rejectUnauthorized'), fields.rejectUnauthorized, {
    fallback: UPSTREAM_DEFAULTS.rejectUnauthorized,
  });

  if (isAbsent(fields.cert) !== isAbsent(fields.key)) {
    const [given, missing] = isAbsent(fields.key) ? ['cert', 'key'] : ['key', 'cert'];
    reader.problems.missing(fieldPath(at, missing), `a file path, because a client certificate needs both cert and key (${given} is set)`);
    return undefined;
  }
  if (ca === undefined || servername === undefined || cert === undefined || key === undefined || rejectUnauthorized === undefined) {
    return undefined;
  }
  return {
    ...(ca === null ? {} : { ca }),
    ...(servername === null ? {} : { servername }),
    ...(cert === null ? {} : { cert }),
    ...(key === null ? {} : { key }),
    rejectUnauthorized,
  };
}

/**
 * Rejects `upstream.host` and `upstream.port` when they are given in cluster or sentinel mode,
 * where respguard finds the nodes through `upstream.nodes` or the sentinels and never uses them.
 * Returns false after an error.
 */
function checkStandaloneAddress(reader: FieldReader, mode: string | undefined, fields: Record<string, unknown>): boolean {
  if (mode !== 'cluster' && mode !== 'sentinel') return true;
  const source = mode === 'cluster' ? 'the seeds in upstream.nodes' : 'the sentinels in upstream.sentinel.nodes';
  let applies = true;
  for (const key of ['host', 'port']) {
    if (isAbsent(fields[key])) continue;
    reader.problems.add(
      `upstream.${key}`,
      `only used with mode: standalone, because in ${mode} mode respguard finds the Redis nodes through ${source}: remove upstream.${key}`,
    );
    applies = false;
  }
  return applies;
}

/** Reads `upstream.nodes`: required in cluster mode, an error in the others. */
function readClusterNodes(reader: FieldReader, mode: string | undefined, value: unknown): readonly string[] | null | undefined {
  const at = 'upstream.nodes';
  if (mode === 'cluster') {
    if (isAbsent(value)) {
      reader.problems.missing(at, 'a list of cluster seed nodes "host:port", because upstream.mode is cluster');
      return undefined;
    }
    return reader.addressList(at, value);
  }
  if (!isAbsent(value)) {
    reader.problems.add(at, `cluster seed nodes are only used with mode: cluster: set upstream.mode: cluster or remove upstream.nodes`);
    return undefined;
  }
  return null;
}

/** Reads `upstream.sentinel`: required in sentinel mode, an error in the others. */
function readSentinel(reader: FieldReader, mode: string | undefined, value: unknown): Sentinel | null | undefined {
  const at = 'upstream.sentinel';
  if (mode !== 'sentinel') {
    if (isAbsent(value)) return null;
    reader.problems.add(at, `only used with mode: sentinel: set upstream.mode: sentinel or remove upstream.sentinel`);
    return undefined;
  }

  const expected = 'a map with masterName and nodes, because upstream.mode is sentinel';
  const fields = reader.map(at, value, SENTINEL_KEYS, { required: true, expected });
  if (fields === undefined) return undefined;

  const masterName = reader.string(fieldPath(at, 'masterName'), fields.masterName, { required: true });
  const nodes = isAbsent(fields.nodes) ? undefined : reader.addressList(fieldPath(at, 'nodes'), fields.nodes);
  if (isAbsent(fields.nodes)) reader.problems.missing(fieldPath(at, 'nodes'), 'a list of sentinel addresses "host:port"');
  const username = readCredential(reader, fieldPath(at, 'username'), fields.username);
  const password = readCredential(reader, fieldPath(at, 'password'), fields.password);
  const tls = isAbsent(fields.tls) ? null : readUpstreamTls(reader, fieldPath(at, 'tls'), fields.tls);

  if (masterName === undefined || nodes === undefined || username === undefined || password === undefined || tls === undefined) return undefined;
  return {
    masterName,
    nodes,
    ...(username === null ? {} : { username }),
    ...(password === null ? {} : { password }),
    ...(tls === null ? {} : { tls }),
  };
}
