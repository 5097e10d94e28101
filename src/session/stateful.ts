/**
 * Commands that change or hold the state of the connection they run on. On a shared upstream
 * connection they would leak state to other clients or stall them, so the session runs them on
 * an upstream connection pinned to it (or answers them itself); this module names the effect of
 * each such command.
 */
import type { CommandInfo } from '../commands/types.js';

export type StateEffect =
  | 'multi'
  | 'exec'
  | 'discard'
  | 'watch'
  | 'unwatch'
  | 'subscribe'
  | 'unsubscribe'
  | 'monitor'
  | 'select'
  | 'tracking'
  | 'caching'
  | 'readonly'
  | 'no-touch'
  | 'reply'
  | 'no-evict'
  | 'unblock'
  | 'blocking';

const EFFECTS = new Map<string, StateEffect>([
  ['multi', 'multi'],
  ['exec', 'exec'],
  ['discard', 'discard'],
  ['watch', 'watch'],
  ['unwatch', 'unwatch'],
  ['subscribe', 'subscribe'],
  ['psubscribe', 'subscribe'],
  ['ssubscribe', 'subscribe'],
  ['unsubscribe', 'unsubscribe'],
  ['punsubscribe', 'unsubscribe'],
  ['sunsubscribe', 'unsubscribe'],
  ['monitor', 'monitor'],
  ['select', 'select'],
  ['client|tracking', 'tracking'],
  ['client|caching', 'caching'],
  ['readonly', 'readonly'],
  ['readwrite', 'readonly'],
  ['client|no-touch', 'no-touch'],
  ['client|reply', 'reply'],
  ['client|no-evict', 'no-evict'],
  // CLIENT UNBLOCK names a client by id: a respguard id must become an upstream id.
  ['client|unblock', 'unblock'],
  // WAIT and WAITAOF block until replicas acknowledge; they must not hold a shared connection.
  // NOTE: Redis waits for the replication offset of the pinned connection, not of the client's
  // writes on shared connections. From 7.2 that is the offset of the connection's own last write
  // (none, so WAIT returns at once). In 7.0 it is the server's offset after the connection's
  // last command, which covers the client's earlier writes only when the connection was opened or reset after them.
  ['wait', 'blocking'],
  ['waitaof', 'blocking'],
]);

/** The kind of pub/sub subscription: channels, patterns or shard channels. */
export type SubscriptionKind = 'channel' | 'pattern' | 'shard';

const SUBSCRIPTION_KINDS = new Map<string, SubscriptionKind>([
  ['subscribe', 'channel'],
  ['unsubscribe', 'channel'],
  ['psubscribe', 'pattern'],
  ['punsubscribe', 'pattern'],
  ['ssubscribe', 'shard'],
  ['sunsubscribe', 'shard'],
]);

/** Returns the kind of subscription that a (un)subscribe command manages. */
export function subscriptionKind(command: CommandInfo): SubscriptionKind {
  return SUBSCRIPTION_KINDS.get(command.name) ?? 'channel';
}

/** Returns whether `stateEffect` returns an effect for `command` with at least some arguments. */
export function mayHaveStateEffect(command: CommandInfo): boolean {
  return EFFECTS.has(command.name) || command.flags.has('blocking');
}

/**
 * Returns what `command` does to connection state, or null for a command that neither changes
 * nor holds it. Commands with Redis's `blocking` flag hold the connection, except XREAD and
 * XREADGROUP, which block only with a BLOCK option.
 */
export function stateEffect(command: CommandInfo, args: readonly Buffer[]): StateEffect | null {
  const effect = EFFECTS.get(command.name);
  if (effect) return effect;
  if (!command.flags.has('blocking')) return null;
  if (command.name === 'xread' || command.name === 'xreadgroup') return hasBlockOption(args) ? 'blocking' : null;
  return 'blocking';
}

/**
 * Parses the options of XREAD/XREADGROUP as Redis does (GROUP takes two values, COUNT and BLOCK
 * one, STREAMS ends the options), so a group, consumer or count named "block" is not an option.
 */
function hasBlockOption(args: readonly Buffer[]): boolean {
  for (let i = 1; i < args.length; i++) {
    const option = args[i]!.toString('latin1').toLowerCase();
    if (option === 'block') return true;
    if (option === 'streams') return false;
    if (option === 'group') i += 2;
    else if (option === 'count') i += 1;
  }
  return false;
}
