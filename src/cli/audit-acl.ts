/**
 * Reads the lines of `ACL LIST` for `respguard audit`: which users can log in without a
 * password, and which may run every command on every key or any dangerous command. Redis prints
 * each user in a normalized form (`user NAME on #<sha256> ~* &* +@all -@dangerous (~x +get)`),
 * so the rules are read in order, as Redis applied them.
 *
 * Password hashes in the lines are never kept: the result contains names and flags only.
 */
import type { CommandTable } from '../commands/table.js';

/** Facts about one ACL user that the audit needs. */
export interface AclUserSummary {
  readonly name: string;
  readonly enabled: boolean;
  readonly nopass: boolean;
  /** Some selector allows every command (`+@all` not narrowed afterwards) on every key (`~*`). */
  readonly allCommandsAllKeys: boolean;
  /** Some selector allows `@dangerous` or `@admin` commands, or a single dangerous command. */
  readonly dangerous: boolean;
}

/** Parses the reply lines of `ACL LIST`; lines that are not `user NAME ...` are skipped. */
export function summarizeAclList(lines: readonly string[], table: CommandTable): AclUserSummary[] {
  const users: AclUserSummary[] = [];
  for (const line of lines) {
    const tokens = splitRules(line);
    if (tokens[0] !== 'user' || tokens[1] === undefined) continue;
    const rules = tokens.slice(2);
    const root = rules.filter((rule) => !rule.startsWith('('));
    const selectors = [root, ...rules.filter((rule) => rule.startsWith('(')).map((rule) => splitRules(rule.slice(1, -1)))];
    const permissions = selectors.map((selector) => readSelector(selector, table));
    users.push({
      name: tokens[1],
      enabled: lastOf(root, ['on', 'off']) === 'on',
      nopass: root.includes('nopass'),
      allCommandsAllKeys: permissions.some((selector) => selector.allCommands && selector.allKeys),
      dangerous: permissions.some((selector) => selector.dangerous),
    });
  }
  return users;
}

/** Splits a rule string at spaces, keeping each parenthesized selector as one token. */
function splitRules(text: string): string[] {
  const tokens: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ' ' && depth === 0) {
      if (current !== '') tokens.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (current !== '') tokens.push(current);
  return tokens;
}

function lastOf(rules: readonly string[], choices: readonly string[]): string | undefined {
  return rules.filter((rule) => choices.includes(rule)).at(-1);
}

interface SelectorPermissions {
  allCommands: boolean;
  allKeys: boolean;
  dangerous: boolean;
}

/**
 * Applies the command and key rules of one selector in order.
 * NOTE: categories are judged by name (`@dangerous`, `@admin`); a category such as `@keyspace`
 * that contains a few dangerous commands does not count, and single commands are judged by the
 * built-in Redis 7.0 table, so commands of newer versions or modules are not recognized.
 */
function readSelector(rules: readonly string[], table: CommandTable): SelectorPermissions {
  const state: SelectorPermissions = { allCommands: false, allKeys: false, dangerous: false };
  const grantedDangerous = new Set<string>();
  for (const rule of rules) {
    if (rule === '+@all' || rule === 'allcommands') {
      state.allCommands = true;
      state.dangerous = true;
    } else if (rule === '-@all' || rule === 'nocommands') {
      state.allCommands = false;
      state.dangerous = false;
      grantedDangerous.clear();
    } else if (rule === '+@dangerous' || rule === '+@admin') {
      state.dangerous = true;
    } else if (rule.startsWith('-')) {
      // Any removal narrows +@all; removing @dangerous also takes back the dangerous grant.
      state.allCommands = false;
      if (rule === '-@dangerous') {
        state.dangerous = false;
        grantedDangerous.clear();
      }
      grantedDangerous.delete(rule.slice(1).toLowerCase());
    } else if (rule.startsWith('+') && isDangerousCommand(rule.slice(1), table)) {
      grantedDangerous.add(rule.slice(1).toLowerCase());
    } else if (rule === '~*' || rule === '%RW~*' || rule === 'allkeys') {
      state.allKeys = true;
    } else if (rule === 'resetkeys') {
      state.allKeys = false;
    }
  }
  state.dangerous ||= grantedDangerous.size > 0;
  return state;
}

/** Tests `name` (`flushall` or `config|get`) against the @dangerous category of the command table. */
function isDangerousCommand(name: string, table: CommandTable): boolean {
  const [command, subcommand] = name.toLowerCase().split('|', 2);
  const info = table.get(command!);
  if (info === undefined) return false;
  const target = subcommand === undefined ? info : info.subcommands?.get(subcommand);
  return target?.categories.has('dangerous') ?? false;
}
