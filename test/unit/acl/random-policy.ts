/**
 * Generators for the large ACL differential test: random but realistic rule strings that use
 * every form of Redis 7.0's ACL SETUSER grammar, and arity-correct requests for the commands of
 * the table, whose keys and channels sometimes match the rules' patterns. Everything comes from
 * one seeded generator, so a seed replays the same users and requests.
 */
import { createHash } from 'node:crypto';
import type { CommandTable } from '../../../src/commands/table.js';
import type { CommandInfo } from '../../../src/commands/types.js';
import { REDIS_CATEGORIES } from '../../../src/acl/table-index.js';

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function chance(random: Random, probability: number): boolean {
  return random() < probability;
}

/** Key patterns with `*`, `?`, `[...]`, ranges, negation and escapes. */
const KEY_PATTERNS = [
  'cache:*', 'user:?', 'user:[0-9]*', 'user:[^0-9]*', 'log:[a-c]', 'ro:*', 'rw:*', 'wo:*', 'a*', 'a?c',
  '\\*lit', 'x\\?y', 'tmp:[abc]?', 'k1', 'k[12]', '*:meta', 'sess:*:data', '[a-z]*', 'q\\[1]', 's*', 'z?',
  'news.*', 'Cache:*', 'dst*', '*', '[!a]b', 'out\\*', 'l[0-9]',
];

const KEY_PREFIXES = ['~', '~', '~', '%R~', '%W~', '%RW~', '%WR~', '%r~', '%w~'];

const CHANNEL_PATTERNS = ['news.*', 'chat:?', 'ch[0-9]', 'alerts', 'news.x', 'a*', '*:events', 'x\\*'];

/** Commands, subcommands and first arguments that rules name one by one. */
const COMMAND_NAMES = [
  'get', 'set', 'mget', 'mset', 'del', 'hget', 'hset', 'xadd', 'xread', 'xreadgroup', 'sort', 'sort_ro',
  'georadius', 'georadiusbymember', 'eval', 'evalsha', 'fcall', 'publish', 'spublish', 'subscribe', 'ssubscribe',
  'psubscribe', 'ping', 'client', 'config', 'debug', 'select', 'object', 'memory', 'lmove', 'blpop', 'zunionstore',
  'migrate', 'bitfield', 'copy', 'rename', 'info', 'scan', 'keys', 'client|list', 'client|kill', 'config|get',
  'config|set', 'object|encoding', 'debug|object', 'select|0', 'select|1', 'acl|whoami', 'function|load',
  'command|docs', 'pfmerge', 'lmpop', 'zmpop', 'sintercard', 'auth', 'hello',
];

/** Operations that Redis rejects, to compare the error texts as well. */
const INVALID_OPS = [
  '+nosuchcommand', '-@nosuchcategory', '%X~a', '%~a', '+client|nosuch', '+select|0|1', '+get|', '#abc',
  '<nosuchpassword', '!0123456789012345678901234567890123456789012345678901234567890123', 'sideways',
  '+config|get|x', '-client|list|x',
];

function keyOp(random: Random): string {
  if (chance(random, 0.15)) return pick(random, ['allkeys', 'allkeys', '~*', '%R~*', 'resetkeys']);
  const pattern = pick(random, KEY_PATTERNS);
  return `${pick(random, KEY_PREFIXES)}${pattern}`;
}

function channelOp(random: Random): string {
  if (chance(random, 0.15)) return pick(random, ['allchannels', 'resetchannels', '&*']);
  return `&${pick(random, CHANNEL_PATTERNS)}`;
}

/** Categories that allow many commands, which rules grant more often than the others. */
const BROAD_CATEGORIES = ['read', 'write', 'keyspace', 'string', 'hash', 'list', 'set', 'sortedset', 'stream', 'geo', 'pubsub', 'scripting'];

function commandOp(random: Random): string {
  const roll = random();
  if (roll < 0.2) return pick(random, ['allcommands', '+@all', '+@all', 'nocommands', '-@all']);
  if (roll < 0.45) return `+@${pick(random, BROAD_CATEGORIES)}`;
  if (roll < 0.6) return `${chance(random, 0.3) ? '+' : '-'}@${pick(random, REDIS_CATEGORIES)}`;
  const name = pick(random, COMMAND_NAMES);
  // Redis rejects -command|firstarg, so first arguments only appear with '+'.
  const sign = name.startsWith('select|') || chance(random, 0.7) ? '+' : '-';
  return `${sign}${chance(random, 0.1) ? name.toUpperCase() : name}`;
}

function userOp(random: Random, passwords: string[]): string {
  const roll = random();
  if (roll < 0.3) return pick(random, ['on', 'off']);
  if (roll < 0.55) {
    const password = `pw${Math.floor(random() * 3)}`;
    passwords.push(password);
    return `>${password}`;
  }
  if (roll < 0.65) return `#${sha256(`hashed${Math.floor(random() * 3)}`)}`;
  if (roll < 0.75 && passwords.length > 0) return `<${pick(random, passwords)}`;
  if (roll < 0.8 && passwords.length > 0) return `!${sha256(pick(random, passwords))}`;
  if (roll < 0.9) return pick(random, ['nopass', 'resetpass', 'sanitize-payload', 'skip-sanitize-payload']);
  return pick(random, ['clearselectors', 'reset']);
}

function selectorOp(random: Random): string {
  const inner: string[] = [];
  const count = 1 + Math.floor(random() * 4);
  for (let i = 0; i < count; i++) inner.push(pick(random, [keyOp, keyOp, channelOp, commandOp, commandOp])(random));
  if (chance(random, 0.1)) inner[0] = `~"${pick(random, KEY_PATTERNS)}"`;
  if (chance(random, 0.05)) inner[0] = `~'${pick(random, KEY_PATTERNS)}'`;
  return `(${inner.join(' ')})`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Builds one rule string. Most are shaped as operators write them: user flags, keys, channels,
 * commands, then selectors. One in five is a random sequence of any operations, and some
 * contain an operation that Redis rejects.
 */
export function randomRules(random: Random): string {
  const ops: string[] = [];
  const passwords: string[] = [];
  const generators = [keyOp, channelOp, commandOp, selectorOp];
  if (chance(random, 0.2)) {
    const length = 1 + Math.floor(random() * 10);
    for (let i = 0; i < length; i++) {
      ops.push(chance(random, 0.2) ? userOp(random, passwords) : pick(random, generators)(random));
    }
  } else {
    if (chance(random, 0.5)) ops.push(userOp(random, passwords));
    for (let i = chance(random, 0.85) ? 1 + Math.floor(random() * 3) : 0; i > 0; i--) ops.push(keyOp(random));
    for (let i = Math.floor(random() * 3); i > 0; i--) ops.push(channelOp(random));
    // Most operators start from a broad grant and narrow it down.
    if (chance(random, 0.6)) ops.push(pick(random, ['+@all', '+@all', 'allcommands', '+@read +@write', '+@all -@dangerous']));
    for (let i = 1 + Math.floor(random() * 3); i > 0; i--) ops.push(commandOp(random));
    for (let i = Math.floor(random() * 3) - 1; i > 0; i--) ops.push(selectorOp(random));
  }
  if (chance(random, 0.06)) ops.splice(Math.floor(random() * (ops.length + 1)), 0, pick(random, INVALID_OPS));
  return ops.join(' ');
}

/** Key names: some match the patterns above, some match none, some differ only in case. */
const KEYS = [
  'cache:1', 'cache:', 'user:1', 'user:12', 'user:a', 'log:b', 'log:d', 'ro:x', 'rw:x', 'wo:x', 'a', 'abc', 'ac',
  'a*c', '*lit', 'x?y', 'xzy', 'tmp:ab', 'k1', 'k2', 'k3', 'sess:1:data', 'q[1]', 'other', '', 'Cache:1', 's1',
  'z1', 'dst1', 'out*', 'l5', 'bb', 'ab', 'x:meta',
];

const CHANNELS = ['news.x', 'news.', 'chat:1', 'chat:12', 'ch5', 'alerts', 'news.*', 'chat:?', 'a1', 'x:events', 'x*', 'other'];

/** Option words of the commands whose keys depend on them. */
const KEYWORDS = [
  'STORE', 'STOREDIST', 'STREAMS', 'KEYS', 'GET', 'BY', 'LIMIT', 'GROUP', 'COUNT', 'BLOCK', 'NOACK', 'AUTH',
  'AUTH2', 'COPY', 'REPLACE', 'WEIGHTS', 'LEFT', 'RIGHT', 'MIN', 'MAX', 'WITHDIST', 'ASC', 'store',
];

/** Commands that the generator picks more often, because their keys or channels are found in unusual ways. */
const FOCUS = new Set([
  'sort', 'sort_ro', 'georadius', 'georadiusbymember', 'xread', 'xreadgroup', 'migrate', 'eval', 'evalsha',
  'eval_ro', 'fcall', 'fcall_ro', 'zunionstore', 'zinterstore', 'zdiffstore', 'zunion', 'lmpop', 'blmpop', 'zmpop',
  'bzmpop', 'sintercard', 'set', 'bitfield', 'publish', 'spublish', 'subscribe', 'ssubscribe', 'psubscribe',
  'select', 'get', 'mget', 'mset', 'copy', 'lmove', 'pfmerge', 'function|load', 'object|encoding', 'debug|object',
]);

/** Argument positions that hold a key count in some key spec. */
function countPositions(command: CommandInfo): Set<number> {
  const positions = new Set<number>();
  for (const spec of command.keySpecs) {
    if (spec.beginSearch.type === 'index' && spec.findKeys.type === 'keynum') {
      positions.add(spec.beginSearch.index + spec.findKeys.keyNumIdx);
    }
  }
  return positions;
}

/** The leaf commands of a table, split into focus commands and the rest. */
export interface RequestSource {
  readonly focus: readonly CommandInfo[];
  readonly all: readonly CommandInfo[];
}

export function requestSource(table: CommandTable): RequestSource {
  const all = table.all().filter((command) => command.subcommands === undefined);
  return { focus: all.filter((command) => FOCUS.has(command.name)), all };
}

/**
 * Request shapes where Redis 7.0's key specs and respguard's stricter checks part ways; `K` is
 * replaced by a random key.
 */
const SHAPES = [
  'sort K by w_*', 'sort K get #', 'sort K by K get K', 'sort_ro K get K', 'sort K store K', 'sort K store by store K',
  'sort K store get store K', 'georadius K 1 2 3 km store K store K', 'georadius K 1 2 3 km storedist K store K',
  'georadiusbymember K m 3 km store K store K', 'xreadgroup noack group g streams streams K >',
  'xreadgroup count 1 group g streams streams K >', 'xreadgroup group g c streams K K > >', 'xread streams K K 0 0',
  'eval s 1 K', 'fcall f 2 K K', 'evalsha_ro 0123 0', 'function load code', 'migrate h 1 K 0 10',
  'migrate h 1 K 0 10 keys K', 'pfmerge K',
];

/** Builds one arity-correct request: a command of the table with random arguments. */
export function randomRequest(random: Random, source: RequestSource): string[] {
  if (chance(random, 0.1)) return pick(random, SHAPES).split(' ').map((part) => (part === 'K' ? pick(random, KEYS) : part));
  const command = chance(random, 0.6) ? pick(random, source.focus) : pick(random, source.all);
  const request = command.parent ? command.name.split('|') : [command.name];
  const minimum = Math.abs(command.arity);
  const length = command.arity < 0 ? minimum + Math.floor(random() * 5) : minimum;
  const counts = countPositions(command);
  const channelCommand = command.flags.has('pubsub');
  while (request.length < length) {
    const position = request.length;
    if (counts.has(position) && chance(random, 0.8)) {
      request.push(pick(random, ['0', '1', '1', '2', '2', '3', '-1', 'x', '01']));
      continue;
    }
    const roll = random();
    if (roll < (channelCommand ? 0.2 : 0.6)) request.push(pick(random, KEYS));
    else if (roll < 0.7) request.push(pick(random, ['0', '1', '2', '3', '10', '-1']));
    else if (roll < 0.85) request.push(pick(random, KEYWORDS));
    else request.push(pick(random, CHANNELS));
  }
  return request;
}
