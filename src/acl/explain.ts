/**
 * One-line explanations of ACL denials for operators, as `respguard dryrun` prints them. Each
 * names what was denied (the command, or the key, channel or pattern with its argument position
 * and value), the user and the selector that denied it, and the rule to change. The client
 * never sees these texts, so they may show the rules.
 */
import { extractKeys, KEY_FLAG_ACCESS, KEY_FLAG_DELETE, KEY_FLAG_INSERT, KEY_FLAG_UPDATE } from '../commands/keys.js';
import { extractTouchedKeys } from '../commands/keys-touched.js';
import type { CommandInfo } from '../commands/types.js';
import { describeSelectorParts } from './describe.js';
import type { Denial } from './noperm.js';
import type { CompiledUser } from './types.js';
import { AclUser } from './user.js';

/**
 * Explains why `user` may not run `command` with `args` (args[0] is the command name), for the
 * denial that `user.check` returned. The text is one line without a final period.
 */
export function explainDenial(user: CompiledUser, command: CommandInfo, args: readonly Buffer[], decision: Denial): string {
  const subject = quotedUser(user);
  const name = `'${decision.command}'`;
  switch (decision.reason) {
    case 'command':
      return `${subject} may not run ${name}, because no selector of the user allows the command. Allow it with +${decision.command} or a category that contains it`;
    case 'key':
      return explainKey(user, command, args, decision);
    case 'channel':
      return explainChannel(user, command, args, decision);
    case 'script':
      return (
        `${subject} may not run ${name}, because scripts and functions run with respguard's upstream rights, beyond the ` +
        "user's rules and blockCommands. Set allowScripts: true for the user to allow them"
      );
    case 'sort-pattern':
      return (
        `${subject} may not use the ${decision.sortOption ?? 'BY'} pattern ${argumentText(command, args, decision.argIndex!)}, ` +
        'because SORT patterns need a selector that allows the command and may read every key (allkeys or %R~*)'
      );
  }
}

function explainKey(user: CompiledUser, command: CommandInfo, args: readonly Buffer[], decision: Denial): string {
  const access = keyAccess(command, args, decision.argIndex!);
  let grant = 'matches it';
  if (access !== 'use') grant = `allows ${access} access to it`;
  let text =
    `${quotedUser(user)} may not ${access} key ${argumentText(command, args, decision.argIndex!)}, because no key pattern ` +
    `of ${selectorText(user, decision.selector)} ${grant}`;
  if (decision.stricter) text += `. Redis 7.0's own ACL check misses this key, but ${decision.command.toUpperCase()} touches it`;
  return text;
}

function explainChannel(user: CompiledUser, command: CommandInfo, args: readonly Buffer[], decision: Denial): string {
  const noun = command.name === 'psubscribe' ? 'channel pattern' : 'channel';
  const comparison = command.name === 'psubscribe' ? 'is equal to it' : 'matches it';
  return (
    `${quotedUser(user)} may not use ${noun} ${argumentText(command, args, decision.argIndex!)}, ` +
    `because no channel pattern of ${selectorText(user, decision.selector)} ${comparison}`
  );
}

function quotedUser(user: CompiledUser): string {
  return `user ${JSON.stringify(user.name)}`;
}

/** Shows an argument as `"value" (argument N of 'command')`, counting from the first word after the command's name. */
function argumentText(command: CommandInfo, args: readonly Buffer[], argIndex: number): string {
  const position = command.parent === undefined ? argIndex : argIndex - 1;
  const value = JSON.stringify((args[argIndex] ?? Buffer.alloc(0)).toString('latin1'));
  return `${value} (argument ${position} of '${command.name}')`;
}

/** Names the selector and its relevant patterns, such as `its root rules (~cache:* &*)`. */
function selectorText(user: CompiledUser, selector: number | undefined): string {
  if (!(user instanceof AclUser) || selector === undefined) return 'any selector of the user';
  const compiled = user.selectors[selector];
  if (compiled === undefined) return 'any selector of the user';
  const parts = describeSelectorParts(compiled, user.index);
  const patterns = [parts.keys, parts.channels].map((part) => part.toString('latin1')).filter((part) => part !== '').join(' ');
  const listed = patterns === '' ? 'no key or channel patterns' : patterns;
  return selector === 0 ? `its root rules (${listed})` : `its selector ${selector} (${listed})`;
}

/** Returns the access that the key at `argIndex` needs: read, write, read and write, or use (no flags). */
function keyAccess(command: CommandInfo, args: readonly Buffer[], argIndex: number): string {
  let flags = 0;
  for (const key of [...extractKeys(command, args), ...(extractTouchedKeys(command, args) ?? [])]) {
    if (key.index === argIndex) flags |= key.flags;
  }
  const read = (flags & KEY_FLAG_ACCESS) !== 0;
  const write = (flags & (KEY_FLAG_INSERT | KEY_FLAG_DELETE | KEY_FLAG_UPDATE)) !== 0;
  if (read && write) return 'read and write';
  if (read) return 'read';
  return write ? 'write' : 'use';
}
