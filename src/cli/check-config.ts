/**
 * `respguard check-config FILE` (or `--config FILE`): validates a config the way start-up does, including the ACL
 * rules and the blocklist, without opening a socket. Settings that are valid but weaken security
 * (plaintext listeners and passwords, a metrics endpoint beyond loopback, nopass, users allowed
 * everything or MONITOR, a blocklist without the default entries, unverified upstream TLS, tiny limits, report-only users, users allowed to run
 * scripts) are printed as warnings on standard error and do not change the exit status.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { DEFAULT_BLOCKED_COMMANDS, defaultsNotBlocked } from '../acl/blocklist.js';
import { AclUser } from '../acl/user.js';
import type { CommandTable } from '../commands/table.js';
import { isLoopbackHost } from '../config/cidr.js';
import type { Config } from '../config/types.js';
import type { Policy } from '../policy.js';
import { configFileArgument, EXIT_USAGE, parseCommandArgs, printUsageError, stringOption } from './args.js';
import { HELP } from './help.js';
import type { CliIo } from './io.js';
import { loadPolicy } from './load-policy.js';

/** Runs `check-config`; returns 0 when the config is valid, 1 when not, 2 on a usage error. */
export async function checkConfigCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs('check-config', args, { config: { type: 'string', short: 'c' } }, io, true);
  if (parsed === undefined) return EXIT_USAGE;
  if (parsed.values.help) {
    io.stdout.write(HELP['check-config']!);
    return 0;
  }
  const { file, error } = configFileArgument(stringOption(parsed, 'config'), parsed.positionals);
  if (file === undefined) {
    printUsageError('check-config', error, io);
    return EXIT_USAGE;
  }

  const loaded = await loadPolicy(file, io);
  if (loaded === undefined) return 1;

  const listeners = loaded.config.listeners.length;
  const users = Object.keys(loaded.config.users).length;
  io.stdout.write(`${file}: OK (${count(listeners, 'listener')}, ${count(users, 'user')})\n`);
  const rawPasswords = await readRawPasswords(file);
  const warnings = [
    ...securityWarnings(loaded.config, loaded.policy, loaded.table),
    ...upstreamWarnings(loaded.config, rawPasswords),
    ...limitWarnings(loaded.config),
    ...policyWarnings(loaded.config),
  ];
  for (const warning of warnings) io.stderr.write(`${file}: ${warning}\n`);
  return 0;
}

/**
 * Lists a warning for every user in report-only mode (`enforce: false`) and every user with
 * `allowScripts: true`, each as `users.NAME.FIELD: warning: ...`.
 */
export function policyWarnings(config: Config): string[] {
  const warnings: string[] = [];
  for (const [name, user] of Object.entries(config.users)) {
    if (user.enforce === false) {
      warnings.push(
        `users.${name}.enforce: warning: the user is in report-only mode, so commands that its ACL rules deny ` +
          'are logged and forwarded all the same. Remove "enforce: false" to enforce the rules',
      );
    }
    if (user.allowScripts === true) {
      warnings.push(
        `users.${name}.allowScripts: warning: scripts and functions from this user run with respguard's upstream ` +
          "rights, so they can read and write keys and run commands that the user's ACL rules deny",
      );
    }
  }
  return warnings;
}

/**
 * Lists settings that are valid but weaker than they could be: users allowed every command on
 * every key, plaintext passwords in the file, `nopass` users, plaintext listeners, and a
 * blocklist that is empty or leaves out entries of the default list. Each is
 * `FIELD: warning: ...` with the fix.
 */
export function securityWarnings(config: Config, policy: Policy, table: CommandTable): string[] {
  const warnings: string[] = [];
  config.listeners.forEach((listener, i) => {
    if (listener.tls || isLoopbackHost(listener.host)) return;
    warnings.push(
      `listeners[${i}]: warning: plaintext listener on ${listener.host}:${listener.port}: passwords and data cross the network ` +
        'unencrypted. Add a tls section to it',
    );
  });
  if (config.metrics && !isLoopbackHost(config.metrics.host)) {
    warnings.push(
      `metrics.host: warning: the metrics endpoint on ${config.metrics.host}:${config.metrics.port} has no authentication and no TLS, ` +
        'and its labels show user names and the commands they run. Bind it to 127.0.0.1 or limit access to it with a firewall',
    );
  }
  if (config.blockCommands.length === 0) {
    warnings.push('blockCommands: warning: the blocklist is empty, so every user allowed FLUSHALL, CONFIG or SHUTDOWN by its rules can run them. Remove "blockCommands: []" to use the default list');
  } else {
    const missing = defaultsNotBlocked(policy.blocklist, table);
    if (missing.length > 0) warnings.push(partialBlocklistWarning(missing));
  }
  for (const [name, userConfig] of Object.entries(config.users)) {
    const user = policy.users.get(name);
    if (user instanceof AclUser && user.selectors.some((selector) => selector.allKeys && selector.commands.every((allowed) => allowed === 1))) {
      warnings.push(`users.${name}.acl: warning: the user may run every command on every key (+@all ~*). Grant only the categories and key patterns it needs`);
    }
    if (userConfig.acl.split(/\s+/).some((rule) => rule.startsWith('>'))) {
      warnings.push(`users.${name}.acl: warning: the file contains a plaintext password (">..."). Replace it with its "#<sha256>" form from respguard hash-password`);
    }
    if (user?.nopass && user.enabled) {
      warnings.push(`users.${name}.acl: warning: nopass lets anyone who reaches a listener log in as this user. Give it a password, a certificate (requireCertificate) or loopback-only sources`);
    }
    if (user instanceof AclUser && monitorsBeyondKeys(user, policy)) {
      warnings.push(
        `users.${name}.acl: warning: the user may run MONITOR, which shows every command of every user with its keys and values, ` +
          'but its key patterns do not allow reading every key. Deny it with -monitor unless the user may read all data',
      );
    }
  }
  return warnings;
}

/** Builds the warning for a `blockCommands` list that lets through `missing` entries of the default list. */
function partialBlocklistWarning(missing: readonly string[]): string {
  const examples = missing.slice(0, 4).join(', ');
  const more = missing.length > 4 ? ', ...' : '';
  return (
    `blockCommands: warning: the list replaces the default blocklist and leaves out ${missing.length} of its ` +
    `${DEFAULT_BLOCKED_COMMANDS.length} entries (${examples}${more}), so every user allowed them by its rules can run them. ` +
    'Add them to the list (DEFAULT_BLOCKED_COMMANDS in src/acl/blocklist.ts lists every entry with its reason) ' +
    'or remove blockCommands to use the default list'
  );
}

/** True when `user` may run MONITOR, the blocklist lets it through, and no selector may read every key. */
function monitorsBeyondKeys(user: AclUser, policy: Policy): boolean {
  const monitor = user.index.table.get('monitor');
  if (monitor === undefined || policy.blocklist.blocks(monitor)) return false;
  if (user.selectors.some((selector) => selector.readsAllKeys)) return false;
  return user.check(monitor, [Buffer.from('MONITOR')]).allowed;
}

/** `upstream.password` and `upstream.sentinel.password` as the file has them, before `${VAR}` references are expanded. */
interface RawPasswords {
  readonly upstream: unknown;
  readonly sentinel: unknown;
}

/**
 * Lists weak upstream settings: TLS without certificate verification, and the upstream or
 * sentinel password written into the file.
 */
export function upstreamWarnings(config: Config, rawPasswords: RawPasswords): string[] {
  const warnings: string[] = [];
  if (config.upstream.tls?.rejectUnauthorized === false) {
    warnings.push(
      'upstream.tls.rejectUnauthorized: warning: respguard does not verify the Redis server\'s certificate, so anyone who can ' +
        'intercept the connection can pose as Redis and read the upstream password and all data. Give the server\'s CA in upstream.tls.ca and remove "rejectUnauthorized: false"',
    );
  }
  if (isLiteral(rawPasswords.upstream)) {
    warnings.push(
      'upstream.password: warning: the file contains the upstream password. Read it from the environment instead, as in "password: ${REDIS_PASSWORD}"',
    );
  }
  if (isLiteral(rawPasswords.sentinel)) {
    warnings.push(
      'upstream.sentinel.password: warning: the file contains the sentinels\' password. Read it from the environment instead, as in "password: ${SENTINEL_PASSWORD}"',
    );
  }
  return warnings;
}

/** Tests whether a raw password is a non-empty string without a `${VAR}` reference. */
function isLiteral(rawPassword: unknown): boolean {
  return typeof rawPassword === 'string' && rawPassword !== '' && !ENV_REFERENCE.test(rawPassword);
}

/** A `${NAME}` or `${NAME:-default}` reference that is not escaped as `$${`. */
const ENV_REFERENCE = /(?:^|[^$])\$\{/;

/**
 * Redis 7.0's minimum for both client-query-buffer-limit and proto-max-bulk-len (CONFIG SET of
 * a smaller value fails on redis-server 7.0.15).
 */
const MIN_BUFFER_LIMIT = 1024 * 1024;

/** Lists byte limits below the floor, where ordinary requests or replies would close clients. */
export function limitWarnings(config: Config): string[] {
  const limits: [string, number, string][] = [
    ['maxQueryBuffer', config.limits.maxQueryBuffer, 'a client whose unprocessed requests reach it is disconnected'],
    ['maxBulkLength', config.limits.maxBulkLength, 'a request with a longer argument is rejected and its client disconnected'],
    ['maxOutputBuffer', config.limits.maxOutputBuffer, 'a client whose unread replies reach it is disconnected'],
  ];
  const warnings: string[] = [];
  for (const [field, value, effect] of limits) {
    if (value >= MIN_BUFFER_LIMIT) continue;
    warnings.push(
      `limits.${field}: warning: ${value} bytes is below 1 MiB (1048576), the minimum that Redis accepts for its own ` +
        `query buffer and bulk length limits, and ${effect}. Raise it to at least 1048576 or remove it to use the default`,
    );
  }
  return warnings;
}

/**
 * Reads the upstream and sentinel passwords from the YAML file without expanding `${VAR}`
 * references, each undefined when the file has none. loadPolicy has already read and validated
 * the file.
 */
async function readRawPasswords(file: string): Promise<RawPasswords> {
  const tree: unknown = parse(await readFile(file, 'utf8'));
  const upstream = isMap(tree) ? tree['upstream'] : undefined;
  const sentinel = isMap(upstream) ? upstream['sentinel'] : undefined;
  return {
    upstream: isMap(upstream) ? upstream['password'] : undefined,
    sentinel: isMap(sentinel) ? sentinel['password'] : undefined,
  };
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
