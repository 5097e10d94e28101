/**
 * Validation of the `audit` section: which users' commands the per-command audit stream records.
 * The security audit lines (authentication failures, denials, blocks, limit disconnections,
 * reloads) are always written and need no setting.
 */
import { FieldReader, isAbsent } from './fields.js';
import { indexPath } from './problems.js';
import type { AuditConfig } from './types.js';

const EXPECTED_COMMANDS = '"all", "none", or a list of user names';

/**
 * Reads the `audit` section. Returns undefined when the section is absent, null when it is
 * invalid (the errors are in `reader.problems`). `userNames` are the users defined in the file.
 * A listed user that is not among them is an error, so that a typo cannot switch auditing off.
 */
export function readAudit(reader: FieldReader, value: unknown, userNames: ReadonlySet<string>): AuditConfig | undefined | null {
  if (isAbsent(value)) return undefined;
  const fields = reader.map('audit', value, ['commands', 'keys'], { expected: 'a map with the keys commands and keys' });
  if (fields === undefined) return null;
  const keys = reader.boolean('audit.keys', fields.keys, { fallback: false });
  if (keys === undefined) return null;
  const withKeys = keys ? { keys: true } : {};

  const commands = fields.commands;
  if (isAbsent(commands) || commands === 'none') return { commands: [], ...withKeys };
  if (commands === 'all') return { commands: 'all', ...withKeys };
  if (!Array.isArray(commands)) {
    reader.problems.invalid('audit.commands', commands, EXPECTED_COMMANDS);
    return null;
  }

  const names = reader.stringList('audit.commands', commands, { expected: EXPECTED_COMMANDS, itemExpected: 'a user name' });
  if (names === undefined) return null;
  let valid = true;
  names.forEach((name, i) => {
    if (userNames.has(name)) return;
    reader.problems.add(indexPath('audit.commands', i), `user "${name}" is not defined in users: add the user or remove the name`);
    valid = false;
  });
  return valid ? { commands: [...new Set(names)], ...withKeys } : null;
}
