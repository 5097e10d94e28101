/**
 * The per-request ACL decision, as Redis 7.0's ACLCheckAllUserCommandPerm makes it. Each
 * selector (the root one first) checks, in this order, the command, its keys and its channels.
 * The first selector that allows the request wins. When none does, the reported denial is the
 * "most relevant" one, as in Redis: a channel denial beats a key denial, which beats a command
 * denial, and between two denials of the same kind the one at the later argument wins.
 *
 * On the allowed path nothing is allocated except the key list that key extraction returns,
 * and that only for a selector that has key patterns and a command that may have keys.
 */
import { extractKeys, KEY_FLAG_ACCESS, KEY_FLAG_DELETE, KEY_FLAG_INSERT, KEY_FLAG_NOT_KEY, KEY_FLAG_UPDATE, type KeyRef } from '../commands/keys.js';
import type { CommandInfo } from '../commands/types.js';
import { equalsIgnoringAsciiCase, KEY_READ, KEY_WRITE, type CompiledSelector } from './selector.js';
import { ChannelKind, channelKindOf, commandMayHaveKeys, type TableIndex } from './table-index.js';
import type { Decision, DenialReason } from './types.js';

/** Denial ranks, in Redis's order of relevance (ACL_DENIED_CMD < ACL_DENIED_KEY < ACL_DENIED_CHANNEL). */
const DENIED_COMMAND = 1;
const DENIED_KEY = 2;
const DENIED_CHANNEL = 4;

const ALLOWED: Decision = Object.freeze({ allowed: true });

// Local copies, because some module loaders (tsx, vitest) turn each read of an imported binding
// into a getter call, and those calls were a large share of a key check in a CPU profile (tsx).
const READ_KEY_FLAGS = KEY_FLAG_ACCESS;
const WRITE_KEY_FLAGS = KEY_FLAG_INSERT | KEY_FLAG_DELETE | KEY_FLAG_UPDATE;
const NOT_KEY_FLAG = KEY_FLAG_NOT_KEY;

/**
 * Decides whether `selectors` allow `command` with `args` (args[0] is the command name), with
 * the keys that Redis 7.0's ACL check extracts. `touchedKeys`, when given, replaces those keys:
 * the stricter checks pass the keys that the command really touches.
 */
export function checkSelectors(
  selectors: readonly CompiledSelector[],
  index: TableIndex,
  command: CommandInfo,
  args: readonly Buffer[],
  touchedKeys?: readonly KeyRef[],
): Decision {
  const id = index.idOf(command);
  const mayHaveKeys = id >= 0 ? index.mayHaveKeys[id] === 1 : commandMayHaveKeys(command);
  const noAuth = id >= 0 ? index.noAuth[id] === 1 : command.flags.has('no_auth');
  const channelKind = id >= 0 ? (index.channelKinds[id]! as ChannelKind) : channelKindOf(command);

  let keys: readonly KeyRef[] | undefined = touchedKeys;
  let worst = DENIED_COMMAND;
  let worstIndex = 0;
  let worstSelector = -1;
  for (let s = 0; s < selectors.length; s++) {
    const selector = selectors[s]!;
    if (!selector.allKeys && mayHaveKeys) keys ??= extractKeys(command, args);
    const denial = denialRank(selector, id, noAuth, channelKind, args, keys);
    if (denial === 0) return ALLOWED;
    const argIndex = deniedArgIndex;
    if (denial > worst || (denial === worst && denial !== DENIED_COMMAND && argIndex > worstIndex)) {
      worst = denial;
      worstIndex = argIndex;
      worstSelector = s;
    }
  }
  return denied(worst, worstIndex, worstSelector, command);
}

/**
 * Tests whether one selector allows the request as Redis's ACLSelectorCheckCmd does, with the
 * keys already extracted. `keys` may be undefined when the selector allows all keys or the
 * command has none.
 */
export function selectorAllows(
  selector: CompiledSelector,
  index: TableIndex,
  command: CommandInfo,
  args: readonly Buffer[],
  keys: readonly KeyRef[] | undefined,
): boolean {
  const id = index.idOf(command);
  const noAuth = id >= 0 ? index.noAuth[id] === 1 : command.flags.has('no_auth');
  const channelKind = id >= 0 ? (index.channelKinds[id]! as ChannelKind) : channelKindOf(command);
  return denialRank(selector, id, noAuth, channelKind, args, keys) === 0;
}

/**
 * Returns 0 when the selector allows the request, or the DENIED_* rank. The denied argument's
 * index is left in deniedArgIndex, so that the loop above allocates nothing.
 */
function denialRank(
  selector: CompiledSelector,
  id: number,
  noAuth: boolean,
  channelKind: ChannelKind,
  args: readonly Buffer[],
  keys: readonly KeyRef[] | undefined,
): number {
  deniedArgIndex = 0;
  if (!noAuth && !commandAllowed(selector, id, args)) return DENIED_COMMAND;
  if (!selector.allKeys && keys !== undefined) {
    const argIndex = firstDeniedKey(selector, keys, args);
    if (argIndex >= 0) {
      deniedArgIndex = argIndex;
      return DENIED_KEY;
    }
  }
  if (!selector.allChannels && channelKind !== ChannelKind.None) {
    const argIndex = firstDeniedChannel(selector, channelKind, args);
    if (argIndex >= 0) {
      deniedArgIndex = argIndex;
      return DENIED_CHANNEL;
    }
  }
  return 0;
}

/** Index of the argument that the last denialRank call denied; 0 for a command denial. */
let deniedArgIndex = 0;

function denied(rank: number, argIndex: number, selector: number, command: CommandInfo): Decision {
  if (rank === DENIED_COMMAND) return { allowed: false, reason: 'command', command: command.name };
  const reason: DenialReason = rank === DENIED_KEY ? 'key' : 'channel';
  return { allowed: false, reason, command: command.name, argIndex, selector };
}

/**
 * Returns whether the selector allows the command itself: by its bit, by the `+@all` state for a
 * command not in the table, or by an allowed first argument.
 */
function commandAllowed(selector: CompiledSelector, id: number, args: readonly Buffer[]): boolean {
  if (id < 0) return selector.futureCommands;
  if (selector.commands[id] === 1) return true;
  if (args.length < 2) return false;
  const firstArgs = selector.firstArgs.get(id);
  if (firstArgs === undefined) return false;
  const firstArg = args[1]!;
  for (const allowed of firstArgs) {
    if (equalsIgnoringAsciiCase(allowed, firstArg)) return true;
  }
  return false;
}

/** Returns the argument index of the first key that no pattern of the selector allows, or -1. */
function firstDeniedKey(selector: CompiledSelector, keys: readonly KeyRef[], args: readonly Buffer[]): number {
  const patterns = selector.keyPatterns;
  const permissions = selector.keyPermissions;
  for (const key of keys) {
    if ((key.flags & NOT_KEY_FLAG) !== 0) continue;
    // A key with neither kind of flag needs no particular permission: any pattern may match it.
    let needed = 0;
    if ((key.flags & READ_KEY_FLAGS) !== 0) needed |= KEY_READ;
    if ((key.flags & WRITE_KEY_FLAGS) !== 0) needed |= KEY_WRITE;
    const name = args[key.index]!;
    let allowed = false;
    for (let i = 0; i < patterns.length && !allowed; i++) {
      allowed = (permissions[i]! & needed) === needed && patterns[i]!.matches(name);
    }
    if (!allowed) return key.index;
  }
  return -1;
}

/** Returns the argument index of the first channel that the selector does not allow, or -1. */
function firstDeniedChannel(selector: CompiledSelector, kind: ChannelKind, args: readonly Buffer[]): number {
  const end = kind === ChannelKind.Publish ? Math.min(2, args.length) : args.length;
  for (let i = 1; i < end; i++) {
    if (!channelAllowed(selector, kind === ChannelKind.PatternSubscribe, args[i]!)) return i;
  }
  return -1;
}

/**
 * Tests one channel argument against the selector's patterns. A channel name matches a pattern as a glob. A PSUBSCRIBE pattern instead must equal an allowed
 * pattern byte for byte, compared as C strings (strcmp), so its bytes after a NUL do not count.
 */
function channelAllowed(selector: CompiledSelector, literal: boolean, channel: Buffer): boolean {
  for (const pattern of selector.channelPatterns) {
    if (literal ? equalsCString(pattern.source, channel) : pattern.matches(channel)) return true;
  }
  return false;
}

function equalsCString(pattern: Buffer, channel: Buffer): boolean {
  const nul = channel.indexOf(0);
  const length = nul < 0 ? channel.length : nul;
  return length === pattern.length && pattern.compare(channel, 0, length) === 0;
}
