/**
 * Facts about a command that depend only on the command table, not on the session or the
 * policy: whether respguard replies to it itself, whether it may change connection state, and
 * so on. A session reads them for every command, so they are computed once per command and table
 * and kept as bits, in place of several name lookups per command.
 */
import type { CommandTable } from '../commands/table.js';
import type { CommandInfo } from '../commands/types.js';
import { isKeyListing } from '../acl/key-listing.js';
import { localHandler } from './local-commands.js';
import { mayHaveStateEffect } from './stateful.js';
import { refusalText } from '../commands/never-forwarded.js';
import { encodeError } from '../resp/encode.js';

/** Returns the reply of a command that never runs through respguard, or undefined. */
export function neverForwardedReply(command: CommandInfo): Buffer | undefined {
  const text = refusalText(command);
  return text === undefined ? undefined : encodeError(text);
}

/** Set once the other bits of an entry are computed. */
const KNOWN = 1;
/** Flagged no_auth (AUTH, HELLO, QUIT, RESET): Redis runs no ACL check for it. */
export const TRAIT_NO_AUTH = 2;
/** respguard may reply to it itself (see localHandler). */
export const TRAIT_LOCAL = 4;
/** respguard never forwards the command (see never-forwarded.ts): neverForwardedReply has its reply. */
export const TRAIT_NEVER_FORWARDED = 8;
/** stateEffect may return an effect for some arguments. */
export const TRAIT_STATE_EFFECT = 16;
/** A key listing (SCAN, KEYS, RANDOMKEY) whose reply may be filtered. */
export const TRAIT_KEY_LISTING = 32;

/** Trait bits by command id, per table. A table is replaced as a whole, so entries never go stale. */
const traitsByTable = new WeakMap<CommandTable, Uint8Array>();

/** Returns the TRAIT_* bits of `command`, which `table` resolved. */
export function commandTraits(table: CommandTable, command: CommandInfo): number {
  let traits = traitsByTable.get(table);
  if (traits === undefined) {
    traits = new Uint8Array(table.size);
    traitsByTable.set(table, traits);
  }
  const cached = command.id < traits.length ? traits[command.id]! : 0;
  if (cached !== 0) return cached;

  let bits = KNOWN;
  if (command.flags.has('no_auth')) bits |= TRAIT_NO_AUTH;
  if (localHandler(command)) bits |= TRAIT_LOCAL;
  if (neverForwardedReply(command)) bits |= TRAIT_NEVER_FORWARDED;
  if (mayHaveStateEffect(command)) bits |= TRAIT_STATE_EFFECT;
  if (isKeyListing(command)) bits |= TRAIT_KEY_LISTING;
  if (command.id < traits.length) traits[command.id] = bits;
  return bits;
}
