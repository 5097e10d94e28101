import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CommandTable } from '../../../src/commands/table.js';
import type { CommandInfo } from '../../../src/commands/types.js';
import { describeHandling } from '../../../src/session/handling.js';

const table = CommandTable.default();

function command(name: string): CommandInfo {
  const [base, sub] = name.split('|') as [string, string?];
  const info = sub === undefined ? table.get(base) : table.get(base)?.subcommands?.get(sub);
  if (info === undefined) throw new Error(`no command ${name} in the default table`);
  return info;
}

/** Reads the Handling column of docs/commands.md, keyed by command name as the table writes it (`ACL SETUSER`). */
function documentedHandling(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of readFileSync('docs/commands.md', 'utf8').split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| Command ') || line.startsWith('| ---')) continue;
    const cells = line.split(' | ');
    rows.set(cells[0]!.slice(2), cells[cells.length - 1]!.replace(/ \|$/, ''));
  }
  return rows;
}

describe('describeHandling', () => {
  it.each([
    ['auth', 'answered by respguard for each client session'],
    ['hello', 'answered by respguard for each client session'],
    ['client|id', 'answered by respguard for each client session'],
    ['client|reply', 'answered by respguard for each client session'],
    ['acl|whoami', 'answered by respguard from its own users'],
    ['acl|getuser', 'answered by respguard from its own users'],
    ['acl|genpass', 'forwarded'],
    ['acl|setuser', 'refused: users are managed in the respguard config'],
    ['replconf', 'refused: replicas connect to Redis directly'],
    ['sync', 'blocked by default; refused otherwise (replicas connect to Redis directly)'],
    ['flushall', 'blocked by default'],
    ['swapdb', 'blocked by default'],
    ['function|delete', 'blocked by default'],
    ['config', 'blocked by default, with every subcommand'],
    ['cluster', 'container: see the subcommands'],
    ['command', 'forwarded'],
    ['get', 'forwarded'],
    ['blpop', 'forwarded; pinned'],
    ['xread', 'forwarded; pinned with BLOCK'],
    ['select', 'SELECT 0 answered by respguard; another database forwarded, pinned'],
    ['eval', 'forwarded; needs allowScripts: true'],
    ['function|load', 'forwarded; needs allowScripts: true'],
    ['scan', 'forwarded; reply filtered to readable keys'],
  ])('describes %s', (name, handling) => {
    expect(describeHandling(command(name), table)).toBe(handling);
  });

  it('matches every row of docs/commands.md', () => {
    const documented = documentedHandling();
    const commands = table.all();
    expect(documented.size).toBe(commands.length);
    for (const info of commands) {
      const name = info.name.replace('|', ' ').toUpperCase();
      expect(documented.get(name), `${name} in docs/commands.md; regenerate it with npm run gen:commands`).toBe(describeHandling(info, table));
    }
  });
});
