/**
 * Reply builders for the ACL subcommands that respguard replies to itself (acl-command.ts), in Redis
 * 7.0.15's shapes for RESP2 and RESP3: ACL CAT, GETUSER, LIST, USERS and LOG. They read the
 * compiled policy and the AclLog and never show a password, only its SHA-256 digest.
 */
import type { CommandTable } from '../commands/table.js';
import { encodeArray, encodeBulk, encodeInteger, encodeMap, type Protocol } from '../resp/encode.js';
import type { AclLog, AclLogEntry } from './acl-log.js';
import { describeSelectorParts, describeUser, userFlags } from './describe.js';
import { REDIS_CATEGORIES, tableIndex } from './table-index.js';
import type { CompiledUser } from './types.js';
import { AclUser } from './user.js';

/** Replies to `ACL CAT`: the 21 categories in Redis's order. */
export function categoriesReply(protocol: Protocol): Buffer {
  return encodeArray(REDIS_CATEGORIES.map((category) => encodeBulk(category, protocol)));
}

/**
 * Replies to `ACL CAT category` with the full names of the commands and subcommands in it, in
 * alphabetical order (Redis uses its hash order). Returns undefined for an unknown category.
 */
export function categoryCommandsReply(table: CommandTable, category: string, protocol: Protocol): Buffer | undefined {
  const index = tableIndex(table);
  const members = index.categoryMembers.get(category);
  if (members === undefined || !REDIS_CATEGORIES.includes(category)) return undefined;
  const inCategory = new Set(members);
  const names = index.commandsByName.filter((command) => inCategory.has(command)).map((command) => encodeBulk(command.name, protocol));
  return encodeArray(names);
}

/** Returns the users sorted by the bytes of their names, the order of Redis's user radix tree. */
export function usersInRedisOrder(users: ReadonlyMap<string, CompiledUser>): CompiledUser[] {
  return [...users.values()].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

/** Replies to `ACL USERS`. */
export function usersReply(users: ReadonlyMap<string, CompiledUser>, protocol: Protocol): Buffer {
  return encodeArray(usersInRedisOrder(users).map((user) => encodeBulk(user.name, protocol)));
}

/** Replies to `ACL LIST`: `user NAME RULES` for each user compiled from a rule string. */
export function listReply(users: ReadonlyMap<string, CompiledUser>, protocol: Protocol): Buffer {
  const lines: Buffer[] = [];
  for (const user of usersInRedisOrder(users)) {
    if (!(user instanceof AclUser)) continue;
    lines.push(encodeBulk(Buffer.concat([Buffer.from(`user ${user.name} `), describeUser(user)]), protocol));
  }
  return encodeArray(lines);
}

/** Replies to `ACL GETUSER`: a map of flags, passwords (digests), commands, keys, channels and selectors. */
export function getUserReply(user: AclUser, protocol: Protocol): Buffer {
  const key = (name: string): Buffer => encodeBulk(name, protocol);
  const [root, ...others] = user.selectors;
  const rootParts = selectorFields(describeSelectorParts(root!, user.index), protocol);
  const selectors = others.map((selector) => encodeMap(selectorFields(describeSelectorParts(selector, user.index), protocol), protocol));
  return encodeMap(
    [
      [key('flags'), encodeSet(userFlags(user).map((flag) => encodeBulk(flag, protocol)), protocol)],
      [key('passwords'), encodeArray(user.hexDigests.map((digest) => encodeBulk(digest, protocol)))],
      ...rootParts,
      [key('selectors'), encodeArray(selectors)],
    ],
    protocol,
  );
}

function selectorFields(parts: { commands: Buffer; keys: Buffer; channels: Buffer }, protocol: Protocol): [Buffer, Buffer][] {
  return [
    [encodeBulk('commands', protocol), encodeBulk(parts.commands, protocol)],
    [encodeBulk('keys', protocol), encodeBulk(parts.keys, protocol)],
    [encodeBulk('channels', protocol), encodeBulk(parts.channels, protocol)],
  ];
}

/**
 * Replies to `ACL LOG [count]` with up to `count` entries, newest first, each a map of count,
 * reason, context, object, username, age-seconds, client-info, entry-id, timestamp-created and
 * timestamp-last-updated.
 */
export function logReply(log: AclLog | undefined, count: number, protocol: Protocol, now: number): Buffer {
  const entries = log?.newest(count) ?? [];
  return encodeArray(entries.map((entry) => logEntryReply(entry, protocol, now)));
}

function logEntryReply(entry: AclLogEntry, protocol: Protocol, now: number): Buffer {
  const key = (name: string): Buffer => encodeBulk(name, protocol);
  return encodeMap(
    [
      [key('count'), encodeInteger(entry.count)],
      [key('reason'), encodeBulk(entry.reason, protocol)],
      [key('context'), encodeBulk(entry.context, protocol)],
      [key('object'), encodeBulk(entry.object, protocol)],
      [key('username'), encodeBulk(entry.username, protocol)],
      [key('age-seconds'), encodeDouble((now - entry.updatedAt) / 1000, protocol)],
      [key('client-info'), encodeBulk(entry.clientInfo, protocol)],
      [key('entry-id'), encodeInteger(entry.entryId)],
      [key('timestamp-created'), encodeInteger(entry.createdAt)],
      [key('timestamp-last-updated'), encodeInteger(entry.updatedAt)],
    ],
    protocol,
  );
}

/** Encodes a set: `~N` in RESP3, an array in RESP2, as Redis's setDeferredSetLen does. */
function encodeSet(items: readonly Buffer[], protocol: Protocol): Buffer {
  if (protocol === 2) return encodeArray(items);
  return Buffer.concat([Buffer.from(`~${items.length}\r\n`), ...items]);
}

/** Encodes a double as Redis's addReplyDouble does: a `%.17g` bulk string in RESP2, `,%.17g` in RESP3. */
export function encodeDouble(value: number, protocol: Protocol): Buffer {
  const text = formatG17(value);
  return protocol === 2 ? encodeBulk(text, protocol) : Buffer.from(`,${text}\r\n`);
}

/**
 * Formats a finite number as C's printf `%.17g` does: 17 significant digits, trailing zeros
 * removed, and exponent notation (`1.5e-05`, at least two exponent digits) when the decimal
 * exponent is below -4 or at least 17.
 */
export function formatG17(value: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, exponentText] = value.toExponential(16).split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 17) {
    const sign = exponent < 0 ? '-' : '+';
    return `${stripZeros(mantissa)}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return stripZeros(value.toFixed(16 - exponent));
}

function stripZeros(text: string): string {
  if (!text.includes('.')) return text;
  return text.replace(/0+$/, '').replace(/\.$/, '');
}
