/**
 * The policy in force: every user of the config compiled against the command table, and the
 * global blocklist. Built whole, then swapped in one step on reload or when the command table
 * changes, so a session never sees half of an old policy and half of a new one.
 */
import { compileUser } from './acl/compile.js';
import { Blocklist } from './acl/blocklist.js';
import type { CompiledUser } from './acl/types.js';
import type { CommandTable } from './commands/table.js';
import type { Config, UserConfig } from './config/types.js';
import { RespguardError } from './errors.js';

export interface Policy {
  readonly users: ReadonlyMap<string, CompiledUser>;
  readonly userConfigs: ReadonlyMap<string, UserConfig>;
  readonly blocklist: Blocklist;
  /**
   * The `default` user when it is defined, enabled and has `nopass`: connections start logged in
   * as this user, as in Redis. Null when clients must authenticate.
   */
  readonly autoLogin: CompiledUser | null;
}

/** Compiles every user and the blocklist. Throws RespguardError RG_ERR_CONFIG naming the file and the field of the first bad rule string. */
export function buildPolicy(config: Config, table: CommandTable): Policy {
  const users = new Map<string, CompiledUser>();
  const problems: string[] = [];
  for (const [name, user] of Object.entries(config.users)) {
    try {
      const options = {
        reportOnly: user.enforce === false,
        allowScripts: user.allowScripts === true,
        scriptsNeedOptIn: config.blockCommands.length > 0,
      };
      users.set(name, compileUser(name, user.acl, table, options));
    } catch (error) {
      problems.push(`${config.file}: users.${name}.acl: ${(error as Error).message}`);
    }
  }
  let blocklist: Blocklist | null = null;
  try {
    blocklist = new Blocklist(config.blockCommands, table);
  } catch (error) {
    problems.push(`${config.file}: ${(error as Error).message}`);
  }
  if (problems.length > 0 || !blocklist) throw new RespguardError('RG_ERR_CONFIG', problems.join('\n'));

  const defaultUser = users.get('default');
  const autoLogin = defaultUser && defaultUser.enabled && defaultUser.nopass ? defaultUser : null;
  return { users, userConfigs: new Map(Object.entries(config.users)), blocklist, autoLogin };
}
