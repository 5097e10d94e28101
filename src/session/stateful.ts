/**
 * Commands that change the state of the connection they run on, or that hold it (blocking).
 * On a shared upstream connection they would leak state to other clients or stall them, so
 * until sessions get connections of their own these are rejected and never forwarded.
 */
import type { CommandInfo } from '../commands/types.js';

const STATEFUL = new Set([
  'multi',
  'watch',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'monitor',
  'readonly',
  'readwrite',
  'wait',
  'waitaof',
  'client|tracking',
  'client|caching',
  'client|reply',
  'client|no-evict',
  'client|no-touch',
]);

/**
 * True when `command` needs an upstream connection of its own. Commands with Redis's
 * `blocking` flag count, except XREAD and XREADGROUP, which block only with a BLOCK option.
 */
export function needsOwnConnection(command: CommandInfo, args: readonly Buffer[]): boolean {
  if (STATEFUL.has(command.name)) return true;
  if (!command.flags.has('blocking')) return false;
  if (command.name === 'xread' || command.name === 'xreadgroup') return hasBlockOption(args);
  return true;
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
