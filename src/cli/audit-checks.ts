/**
 * The checks of `respguard audit`: authentication, network exposure (protected mode, bind,
 * TLS), users' ACL rules, and the commands that administer or wipe a server. `collectFacts` reads what the auditing user may read, and notes each check it
 * could not make. `findIssues` (audit-findings.ts) turns the facts into findings without any
 * I/O, so that every rule can be tested with plain values.
 *
 * Secrets are never read: the audit does not ask for `requirepass` or `masterauth`, and keeps
 * nothing of ACL LIST but user names and flags.
 */
import type { CommandTable } from '../commands/table.js';
import { ErrorReply, type RespValue } from '../resp/reply-framer.js';
import { summarizeAclList, type AclUserSummary } from './audit-acl.js';
import { RedisConnection, type RedisTarget } from './audit-client.js';

/** Access that a connection without credentials gets from the server. */
export type AnonymousAccess = 'open' | 'protected' | 'closed' | 'unknown';

/** Everything the audit learned about the server. */
export interface AuditFacts {
  readonly transport: 'TLS' | 'plaintext';
  readonly anonymous: AnonymousAccess;
  readonly version?: string;
  /** Values of the settings in CONFIG_PARAMETERS that CONFIG GET returned. */
  readonly config: ReadonlyMap<string, string>;
  /** Absent when ACL LIST could not be read. */
  readonly users?: readonly AclUserSummary[];
  /** Dangerous commands that exist under their own names; absent when COMMAND INFO could not be read. */
  readonly availableDangerous?: readonly string[];
  /** Checks that could not be made, each with the reason. */
  readonly notChecked: readonly string[];
}

/** Settings read with CONFIG GET, one at a time, so that a Redis 6 server returns them too. */
export const CONFIG_PARAMETERS = [
  'protected-mode',
  'bind',
  'port',
  'tls-port',
  'enable-debug-command',
  'enable-module-command',
  'enable-protected-configs',
] as const;

/** Commands that administer, reconfigure or wipe a server; redis.conf suggests rename-command for such commands. */
export const DANGEROUS_COMMANDS = ['FLUSHALL', 'FLUSHDB', 'CONFIG', 'DEBUG', 'SHUTDOWN', 'MODULE', 'KEYS', 'REPLICAOF', 'SLAVEOF', 'MIGRATE', 'ACL'];

/** An error that stops the audit before any check: no connection, or the credentials were rejected. */
export class AuditConnectionError extends Error {}

/** Connects to `target`, authenticates when it has a password, and reads the facts. */
export async function collectFacts(target: RedisTarget, table: CommandTable): Promise<AuditFacts> {
  const address = `${target.host}:${target.port}`;
  const connection = await RedisConnection.open(target).catch((error: Error) => {
    throw new AuditConnectionError(`cannot connect to ${address}: ${error.message}`);
  });
  try {
    if (target.password !== undefined) {
      const args = target.username === undefined ? ['AUTH', target.password] : ['AUTH', target.username, target.password];
      const reply = await connection.call(...args);
      if (reply instanceof ErrorReply) throw new AuditConnectionError(`authentication at ${address} failed: ${reply.text}`);
    }
    const anonymous = await probeAnonymous(target);
    const notChecked: string[] = [];
    if (target.password === undefined && anonymous === 'closed') {
      notChecked.push('everything but anonymous access: the server requires a password; give one in the URL or in REDISCLI_AUTH');
      return { transport: target.tls ? 'TLS' : 'plaintext', anonymous, config: new Map(), notChecked };
    }
    const version = await readVersion(connection, notChecked);
    return {
      transport: target.tls ? 'TLS' : 'plaintext',
      anonymous,
      ...(version === undefined ? {} : { version }),
      config: await readConfig(connection, notChecked),
      ...(await readUsers(connection, table, notChecked)),
      ...(await readAvailableDangerous(connection, notChecked)),
      notChecked,
    };
  } finally {
    connection.close();
  }
}

/** Sends PING on a second connection that does not authenticate. */
async function probeAnonymous(target: RedisTarget): Promise<AnonymousAccess> {
  const { password: _password, username: _username, ...anonymous } = target;
  let connection: RedisConnection;
  try {
    connection = await RedisConnection.open(anonymous);
  } catch {
    return 'unknown';
  }
  try {
    const reply = await connection.call('PING');
    if (!(reply instanceof ErrorReply)) return 'open';
    // NOPERM: the connection is logged in as the default user, who may not run PING.
    if (reply.text.startsWith('NOPERM')) return 'open';
    if (reply.text.startsWith('NOAUTH')) return 'closed';
    if (reply.text.startsWith('DENIED')) return 'protected';
    return 'unknown';
  } catch {
    return 'unknown';
  } finally {
    connection.close();
  }
}

async function readVersion(connection: RedisConnection, notChecked: string[]): Promise<string | undefined> {
  const reply = await connection.call('INFO', 'server');
  if (reply instanceof ErrorReply) {
    notChecked.push(`Redis version: INFO was rejected: ${reply.text}`);
    return undefined;
  }
  return /^redis_version:(\S+)/m.exec(text(reply))?.[1];
}

async function readConfig(connection: RedisConnection, notChecked: string[]): Promise<Map<string, string>> {
  const config = new Map<string, string>();
  const rejected: string[] = [];
  let reason = '';
  for (const name of CONFIG_PARAMETERS) {
    const reply = await connection.call('CONFIG', 'GET', name);
    if (reply instanceof ErrorReply) {
      rejected.push(name);
      reason ||= reply.text;
    } else if (Array.isArray(reply) && reply.length >= 2) {
      config.set(name, text(reply[1]!));
    }
  }
  if (rejected.length > 0) notChecked.push(`settings ${rejected.join(', ')}: CONFIG GET was rejected: ${reason}`);
  return config;
}

async function readUsers(connection: RedisConnection, table: CommandTable, notChecked: string[]): Promise<{ users?: AclUserSummary[] }> {
  const reply = await connection.call('ACL', 'LIST');
  if (reply instanceof ErrorReply) {
    notChecked.push(`users and their ACL rules: ACL LIST was rejected: ${reply.text}`);
    return {};
  }
  const lines = Array.isArray(reply) ? reply.map(text) : [];
  return { users: summarizeAclList(lines, table) };
}

async function readAvailableDangerous(connection: RedisConnection, notChecked: string[]): Promise<{ availableDangerous?: string[] }> {
  const reply = await connection.call('COMMAND', 'INFO', ...DANGEROUS_COMMANDS);
  if (reply instanceof ErrorReply || !Array.isArray(reply)) {
    const reason = reply instanceof ErrorReply ? reply.text : 'unexpected reply';
    notChecked.push(`renamed or disabled commands: COMMAND INFO was rejected: ${reason}`);
    return {};
  }
  // COMMAND INFO returns null for a name that does not exist, which is what renaming does.
  return { availableDangerous: DANGEROUS_COMMANDS.filter((_name, i) => reply[i] !== null && reply[i] !== undefined) };
}

/** Reads a string reply of either protocol as text. */
function text(value: RespValue): string {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'string' ? value : String(value);
}
