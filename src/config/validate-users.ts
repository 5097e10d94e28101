/**
 * Validation of the `users` map and the `blockCommands` list. ACL rule strings are only
 * checked to be non-empty strings here, because the policy compiler parses them against the
 * command table.
 */
import { DEFAULT_BLOCKED_COMMANDS } from '../acl/blocklist.js';
import { parseIdentity } from '../auth/certificates.js';
import { FieldReader, isAbsent, type Section } from './fields.js';
import { fieldPath, indexPath } from './problems.js';
import type { UserConfig } from './types.js';

const USER_KEYS = ['acl', 'certificates', 'requireCertificate', 'sources', 'enforce', 'allowScripts', 'filterKeyListings', 'readFromReplicas'];
const COMMAND_NAME = /^[A-Za-z][A-Za-z0-9_.-]*(\|[A-Za-z][A-Za-z0-9_.-]*)?$/;

/** Validates the `users` map (name -> user). */
export function readUsers(reader: FieldReader, value: unknown): Section<Record<string, UserConfig>> {
  const expected = 'a map of user name to a map with acl, such as { app: { acl: "on >secret ~* +@read" } }';
  if (isAbsent(value) || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) {
    if (isAbsent(value)) reader.problems.missing('users', expected);
    else reader.problems.invalid('users', value, expected);
    return { valid: {}, complete: false };
  }

  const valid: Record<string, UserConfig> = {};
  let complete = true;
  for (const [name, entry] of Object.entries(value as Record<string, unknown>)) {
    if (name === '' || /\s/.test(name)) {
      reader.problems.add('users', `invalid user name ${JSON.stringify(name)}: expected a non-empty name without spaces`);
      complete = false;
      continue;
    }
    const user = readUser(reader, fieldPath('users', name), entry);
    if (user === undefined) complete = false;
    else valid[name] = user;
  }
  if (!checkCertificateOwners(reader, valid)) complete = false;
  return { valid, complete };
}

/** Reads a `certificates` list; identities are stored with upper-case prefixes (`cn=x` becomes `CN=x`). */
function readCertificateIdentities(reader: FieldReader, at: string, value: unknown): string[] | undefined {
  const items = reader.stringList(at, value, {
    nonEmpty: true,
    expected: 'a non-empty list of client certificate identities, such as ["CN=billing-api"]',
    itemExpected: 'a certificate identity, such as "CN=billing-api" or "URI:spiffe://prod/billing"',
  });
  if (items === undefined) return undefined;

  const identities: string[] = [];
  items.forEach((item, i) => {
    const parsed = parseIdentity(item);
    if (parsed.ok) identities.push(parsed.identity);
    else reader.problems.invalid(indexPath(at, i), item, parsed.expected);
  });
  return identities.length === items.length ? identities : undefined;
}

/**
 * Reports a certificate identity listed by two users: a certificate must log in as one user
 * only. Returns false when there was one.
 */
function checkCertificateOwners(reader: FieldReader, users: Record<string, UserConfig>): boolean {
  const owners = new Map<string, string>();
  let unique = true;
  for (const [name, user] of Object.entries(users)) {
    (user.certificates ?? []).forEach((identity, i) => {
      const owner = owners.get(identity);
      if (owner === undefined) {
        owners.set(identity, name);
        return;
      }
      const at = indexPath(fieldPath(fieldPath('users', name), 'certificates'), i);
      reader.problems.add(at, `"${identity}" is also listed by users.${owner}: a certificate identity may log in as one user only`);
      unique = false;
    });
  }
  return unique;
}

function readUser(reader: FieldReader, at: string, value: unknown): UserConfig | undefined {
  const fields = reader.map(at, value, USER_KEYS, { required: true, expected: 'a map with acl' });
  if (fields === undefined) return undefined;

  const acl = reader.string(fieldPath(at, 'acl'), fields.acl, {
    required: true,
    expected: 'a Redis ACL rule string, such as "on >secret ~cache:* +get"',
  });
  const certificates = isAbsent(fields.certificates) ? null : readCertificateIdentities(reader, fieldPath(at, 'certificates'), fields.certificates);
  const requireCertificate = reader.boolean(fieldPath(at, 'requireCertificate'), fields.requireCertificate, { fallback: false });
  const sources = isAbsent(fields.sources) ? null : reader.cidrList(fieldPath(at, 'sources'), fields.sources);
  const enforce = isAbsent(fields.enforce) ? null : reader.boolean(fieldPath(at, 'enforce'), fields.enforce);
  const allowScripts = isAbsent(fields.allowScripts) ? null : reader.boolean(fieldPath(at, 'allowScripts'), fields.allowScripts);
  const filterKeyListings = isAbsent(fields.filterKeyListings) ? null : reader.boolean(fieldPath(at, 'filterKeyListings'), fields.filterKeyListings);
  const readFromReplicas = isAbsent(fields.readFromReplicas) ? null : reader.boolean(fieldPath(at, 'readFromReplicas'), fields.readFromReplicas);

  if (requireCertificate === true && isAbsent(fields.certificates)) {
    reader.problems.add(
      fieldPath(at, 'requireCertificate'),
      `true needs ${fieldPath(at, 'certificates')}: list the certificate identities that log in as this user`,
    );
    return undefined;
  }
  if (acl === undefined || certificates === undefined || requireCertificate === undefined || sources === undefined) return undefined;
  if (enforce === undefined || allowScripts === undefined || filterKeyListings === undefined || readFromReplicas === undefined) return undefined;
  return {
    acl,
    ...(certificates === null ? {} : { certificates }),
    requireCertificate,
    ...(sources === null ? {} : { sources }),
    ...(enforce === null ? {} : { enforce }),
    ...(allowScripts === null ? {} : { allowScripts }),
    ...(filterKeyListings === null ? {} : { filterKeyListings }),
    ...(readFromReplicas === null ? {} : { readFromReplicas }),
  };
}

/** Reports users with `readFromReplicas: true` outside sentinel mode, where respguard has no replicas to read from. */
export function checkReplicaReads(reader: FieldReader, users: Record<string, UserConfig>, mode: string | undefined): void {
  if (mode === undefined || mode === 'sentinel') return;
  for (const [name, user] of Object.entries(users)) {
    if (user.readFromReplicas !== true) continue;
    reader.problems.add(
      fieldPath(fieldPath('users', name), 'readFromReplicas'),
      `replicas are only used with upstream.mode: sentinel: set upstream.mode: sentinel or remove readFromReplicas`,
    );
  }
}

/**
 * Validates `blockCommands`. Absent means the default list, `[]` means none. Names are
 * upper-cased and duplicates dropped.
 */
export function readBlockCommands(reader: FieldReader, value: unknown): string[] | undefined {
  if (isAbsent(value)) return [...DEFAULT_BLOCKED_COMMANDS];

  const expected = 'a list of command names such as [FLUSHALL, "CONFIG|SET"]; [] blocks nothing';
  const items = reader.list('blockCommands', value, { expected });
  if (items === undefined) return undefined;

  const names = new Set<string>();
  let valid = true;
  items.forEach((item, i) => {
    if (typeof item === 'string' && COMMAND_NAME.test(item)) {
      names.add(item.toUpperCase());
      return;
    }
    reader.problems.invalid(indexPath('blockCommands', i), item, 'a command name such as "FLUSHALL", or "NAME|SUBCOMMAND" such as "CONFIG|SET"');
    valid = false;
  });
  return valid ? [...names] : undefined;
}
