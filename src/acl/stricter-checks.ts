/**
 * respguard's checks on top of Redis 7.0's ACL check. They run only after that check has allowed
 * a request, so they can turn an allowed request into a denied one but never the reverse, and a
 * request that Redis 7.0 denies always gets Redis's own denial. Each check is listed in
 * docs/acl.md, and each denial it makes carries `stricter: true`.
 *
 * 1. Touched keys: for GEORADIUS, GEORADIUSBYMEMBER, SORT, XREAD and XREADGROUP, the keys that
 *    the command really touches (keys-touched.ts) must pass the same selector check, because
 *    Redis 7.0's key specs miss some of them in a few argument shapes.
 * 2. SORT patterns: Redis 7.0 rejects a BY pattern with `*` or a GET pattern from a user who may
 *    not read every key, but only when the command runs, with the user it runs as. Upstream that
 *    is respguard's own user, so respguard makes the check itself.
 * 3. Scripts and functions run with respguard's upstream rights, which neither the caller's
 *    rules nor the blocklist limit. They, and the FUNCTION subcommands that change libraries, are
 *    denied to a user whose rules restrict anything, and to every user while the blocklist is not
 *    empty, unless the config sets `allowScripts: true` for that user.
 */
import { extractKeys, type KeyRef } from '../commands/keys.js';
import { extractTouchedKeys, parseSortOptions } from '../commands/keys-touched.js';
import type { CommandInfo } from '../commands/types.js';
import { checkSelectors, selectorAllows } from './check.js';
import type { CompiledSelector } from './selector.js';
import { StricterCheck, stricterChecksOf, type TableIndex } from './table-index.js';
import type { Decision } from './types.js';

const ALLOWED: Decision = Object.freeze({ allowed: true });

/** The fields of a user that the stricter checks read. */
export interface StricterCheckUser {
  readonly selectors: readonly CompiledSelector[];
  /** Some selector allows every command on every key and channel. */
  readonly unrestricted: boolean;
  readonly allowScripts: boolean;
  /** Scripts need allowScripts even when `unrestricted`, because the blocklist is not empty. */
  readonly scriptsNeedOptIn: boolean;
}

/**
 * Runs the stricter checks that apply to `command`, for a request that Redis 7.0's ACL check
 * has allowed. Returns the first denial, in the order touched keys, SORT patterns, scripts.
 */
export function checkStricter(user: StricterCheckUser, index: TableIndex, command: CommandInfo, args: readonly Buffer[]): Decision {
  const id = index.idOf(command);
  const checks = id >= 0 ? index.stricterChecks[id]! : stricterChecksOf(command);
  if (checks === 0) return ALLOWED;

  if ((checks & StricterCheck.TouchedKeys) !== 0) {
    const touched = extractTouchedKeys(command, args);
    if (touched !== undefined) {
      const decision = checkSelectors(user.selectors, index, command, args, touched);
      if (!decision.allowed) return { ...decision, stricter: true };
    }
  }
  if ((checks & StricterCheck.SortPattern) !== 0) {
    const decision = checkSortPattern(user.selectors, index, command, args);
    if (!decision.allowed) return decision;
  }
  const scriptsByRules = user.unrestricted && !user.scriptsNeedOptIn;
  if ((checks & StricterCheck.Script) !== 0 && !scriptsByRules && !user.allowScripts) {
    return { allowed: false, reason: 'script', command: command.name, stricter: true };
  }
  return ALLOWED;
}

/**
 * Denies a SORT or SORT_RO pattern unless some selector both allows the request and may read
 * every key, as Redis 7.0's ACLUserCheckCmdWithUnrestrictedKeyAccess decides.
 */
function checkSortPattern(selectors: readonly CompiledSelector[], index: TableIndex, command: CommandInfo, args: readonly Buffer[]): Decision {
  const options = parseSortOptions(args, command.name === 'sort_ro');
  if (options.pattern < 0) return ALLOWED;

  let keys: KeyRef[] | undefined;
  for (const selector of selectors) {
    if (!selector.readsAllKeys) continue;
    if (!selector.allKeys) keys ??= extractKeys(command, args);
    if (selectorAllows(selector, index, command, args, keys)) return ALLOWED;
  }
  return {
    allowed: false,
    reason: 'sort-pattern',
    command: command.name,
    argIndex: options.pattern,
    stricter: true,
    sortOption: options.patternOption,
  };
}
