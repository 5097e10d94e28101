/**
 * Renders compiled users back into ACL rules the way Redis 7.0.15 shows them in ACL LIST and
 * ACL GETUSER: flags, password digests (never passwords), key patterns, channel patterns and
 * command rules. Command rules are rebuilt from the command bits as Redis's
 * ACLDescribeSelectorCommandRules does: `+@all` or `-@all` first, then the category that best
 * fits the remaining bits, again and again, then single commands and first arguments.
 *
 * NOTE: Redis walks its command dictionary in hash order, which changes from one server start
 * to the next, so it lists single commands in an order that cannot be reproduced. Here they
 * come in alphabetical order. The categories and the set of single-command rules are the same.
 */
import type { CommandInfo } from '../commands/types.js';
import { KEY_READ, KEY_READ_WRITE, type CompiledSelector } from './selector.js';
import { REDIS_CATEGORIES, type TableIndex } from './table-index.js';
import type { AclUser } from './user.js';

/** The parts of one selector as ACL GETUSER lists them. */
export interface SelectorDescription {
  /** Command rules, such as `-@all +get`. */
  readonly commands: Buffer;
  /** Key patterns joined by spaces, such as `~a* %R~b`, or `~*` for all keys. */
  readonly keys: Buffer;
  /** Channel patterns joined by spaces, such as `&news.*`, or `&*` for all channels. */
  readonly channels: Buffer;
}

/** Lists the user flags as Redis orders them: on or off, nopass, then the payload flag. */
export function userFlags(user: AclUser): string[] {
  const flags = [user.enabled ? 'on' : 'off'];
  if (user.nopass) flags.push('nopass');
  if (user.sanitizing === 'skip') flags.push('skip-sanitize-payload');
  if (user.sanitizing === 'sanitize') flags.push('sanitize-payload');
  return flags;
}

/** Describes one selector in the three parts of ACL GETUSER. */
export function describeSelectorParts(selector: CompiledSelector, index: TableIndex): SelectorDescription {
  const keys = selector.allKeys ? Buffer.from('~*') : joinWords(selector.keyPatterns.map((pattern, i) => keyPatternText(pattern.source, selector.keyPermissions[i]!)));
  const channels = selector.allChannels
    ? Buffer.from('&*')
    : joinWords(selector.channelPatterns.map((pattern) => Buffer.concat([Buffer.from('&'), pattern.source])));
  return { commands: describeCommandRules(selector, index), keys, channels };
}

/**
 * Describes one selector as one rule string, as ACL LIST shows it: keys, then `resetchannels`
 * and the channels (or `&*`), then the command rules.
 */
export function describeSelector(selector: CompiledSelector, index: TableIndex): Buffer {
  const parts: Buffer[] = [];
  if (selector.allKeys) {
    parts.push(Buffer.from('~*'));
  } else {
    selector.keyPatterns.forEach((pattern, i) => parts.push(keyPatternText(pattern.source, selector.keyPermissions[i]!)));
  }
  if (selector.allChannels) {
    parts.push(Buffer.from('&*'));
  } else {
    parts.push(Buffer.from('resetchannels'));
    for (const pattern of selector.channelPatterns) parts.push(Buffer.concat([Buffer.from('&'), pattern.source]));
  }
  parts.push(describeCommandRules(selector, index));
  return joinWords(parts);
}

/**
 * Describes a whole user as ACL LIST shows it after `user NAME `: flags, `#digest` for each
 * password, the root selector, then each other selector in parentheses.
 */
export function describeUser(user: AclUser): Buffer {
  const words = [...userFlags(user), ...user.hexDigests.map((digest) => `#${digest}`)].map((word) => Buffer.from(word));
  const [root, ...others] = user.selectors;
  const parts = [joinWords([...words, describeSelector(root!, user.index)])];
  for (const selector of others) parts.push(Buffer.from(' ('), describeSelector(selector, user.index), Buffer.from(')'));
  return Buffer.concat(parts);
}

function keyPatternText(source: Buffer, permissions: number): Buffer {
  let prefix = '~';
  if (permissions !== KEY_READ_WRITE) prefix = permissions === KEY_READ ? '%R~' : '%W~';
  return Buffer.concat([Buffer.from(prefix), source]);
}

function joinWords(words: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  words.forEach((word, i) => {
    if (i > 0) parts.push(Buffer.from(' '));
    parts.push(word);
  });
  return Buffer.concat(parts);
}

/**
 * Rebuilds the command rules of a selector from its command bits, as Redis 7.0.15 does. First
 * arguments are bytes, so the rules come back as bytes (latin1 keeps each byte as it is).
 */
export function describeCommandRules(selector: CompiledSelector, index: TableIndex): Buffer {
  const additive = !selector.futureCommands;
  const rules: string[] = [additive ? '-@all' : '+@all'];
  // `fake` is what the rules emitted so far allow; `remaining` is what the categories still need to cover.
  const fake = new Uint8Array(index.size).fill(additive ? 0 : 1);
  const remaining = Uint8Array.from(selector.commands);

  const applied = new Set<string>();
  for (;;) {
    const best = bestCategory(remaining, index, additive, applied);
    if (best === undefined) break;
    rules.push(`${additive ? '+' : '-'}@${best}`);
    setCategory(fake, index, best, additive);
    setCategory(remaining, index, best, !additive);
    applied.add(best);
  }

  for (const command of index.commandsByName) {
    if (command.parent === undefined) appendSingleCommandRules(command, selector, fake, rules);
  }
  return Buffer.from(rules.join(' '), 'latin1');
}

/**
 * Picks the category with more commands in common with the remaining bits than different, the
 * fewest different, and among equals the most in common, as Redis's loop does.
 */
function bestCategory(remaining: Uint8Array, index: TableIndex, additive: boolean, applied: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let minDiff = Number.MAX_SAFE_INTEGER;
  let maxSame = 0;
  for (const category of REDIS_CATEGORIES) {
    if (applied.has(category)) continue;
    let on = 0;
    let off = 0;
    for (const command of index.categoryMembers.get(category) ?? []) {
      if (remaining[command.id] === 1) on++;
      else off++;
    }
    const diff = additive ? off : on;
    const same = additive ? on : off;
    if (same > diff && (diff < minDiff || (diff === minDiff && same > maxSame))) {
      best = category;
      minDiff = diff;
      maxSame = same;
    }
  }
  return best;
}

/** Emits `+name` or `-name` where the bits still differ, then the allowed first arguments. */
function appendSingleCommandRules(command: CommandInfo, selector: CompiledSelector, fake: Uint8Array, rules: string[]): void {
  const bit = selector.commands[command.id]!;
  if (bit !== fake[command.id]) {
    rules.push(`${bit === 1 ? '+' : '-'}${command.name}`);
    setCommand(fake, command, bit);
  }
  for (const sub of command.subcommands?.values() ?? []) appendSingleCommandRules(sub, selector, fake, rules);
  if (bit === 0) {
    for (const arg of selector.firstArgs.get(command.id) ?? []) rules.push(`+${command.name}|${arg.toString('latin1')}`);
  }
}

function setCommand(bits: Uint8Array, command: CommandInfo, bit: number): void {
  bits[command.id] = bit;
  for (const sub of command.subcommands?.values() ?? []) bits[sub.id] = bit;
}

function setCategory(bits: Uint8Array, index: TableIndex, category: string, allowed: boolean): void {
  for (const command of index.categoryMembers.get(category) ?? []) setCommand(bits, command, allowed ? 1 : 0);
}
