/**
 * Key listings that respect key patterns, which Redis's ACLs do not do: SCAN, KEYS, RANDOMKEY and
 * CLUSTER GETKEYSINSLOT return only the keys the user may read. Redis checks no key for these
 * commands, so a user limited to `~cache:*` would otherwise learn every key name; respguard
 * filters the upstream's reply instead, for every user whose rules do not allow reading all keys.
 */
import type { CommandInfo } from '../commands/types.js';
import { selectorAllows } from './check.js';
import { KEY_READ } from './selector.js';
import type { CompiledUser } from './types.js';
import { AclUser } from './user.js';

const LISTING_COMMANDS = new Set(['scan', 'keys', 'randomkey', 'cluster|getkeysinslot']);

/** True for the commands whose replies list key names of the whole keyspace. */
export function isKeyListing(command: CommandInfo): boolean {
  return LISTING_COMMANDS.has(command.name);
}

/**
 * Returns a test of whether `user` may read a key, using the selectors that allow this request,
 * or null when one of them may read every key (then nothing needs filtering).
 */
export function readableKeyFilter(user: CompiledUser, command: CommandInfo, args: readonly Buffer[]): ((key: Buffer) => boolean) | null {
  if (!(user instanceof AclUser)) return null;
  const selectors = user.selectors.filter((selector) => selectorAllows(selector, user.index, command, args, []));
  if (selectors.some((selector) => selector.allKeys)) return null;
  return (key) =>
    selectors.some((selector) => {
      const patterns = selector.keyPatterns;
      for (let i = 0; i < patterns.length; i++) {
        if ((selector.keyPermissions[i]! & KEY_READ) !== 0 && patterns[i]!.matches(key)) return true;
      }
      return false;
    });
}
