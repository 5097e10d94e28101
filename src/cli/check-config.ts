/**
 * `respguard check-config FILE`: validates a config the way start-up does, including the ACL
 * rules and the blocklist, without opening a socket. Settings that are valid but weaken security
 * (plaintext listeners and passwords, nopass, users allowed everything, an empty blocklist,
 * report-only users, users allowed to run scripts) are printed as warnings on standard error and
 * do not change the exit status.
 */
import { AclUser } from '../acl/user.js';
import { isLoopbackHost } from '../config/cidr.js';
import type { Config } from '../config/types.js';
import type { Policy } from '../policy.js';
import { EXIT_USAGE, parseCommandArgs, printUsageError } from './args.js';
import { HELP } from './help.js';
import type { CliIo } from './io.js';
import { loadPolicy } from './load-policy.js';

/** Runs `check-config`; returns 0 when the config is valid, 1 when not, 2 on a usage error. */
export async function checkConfigCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs('check-config', args, {}, io, true);
  if (parsed === undefined) return EXIT_USAGE;
  if (parsed.values.help) {
    io.stdout.write(HELP['check-config']!);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    printUsageError('check-config', 'expected exactly one FILE argument', io);
    return EXIT_USAGE;
  }

  const file = parsed.positionals[0]!;
  const loaded = await loadPolicy(file, io);
  if (loaded === undefined) return 1;

  const listeners = loaded.config.listeners.length;
  const users = Object.keys(loaded.config.users).length;
  io.stdout.write(`${file}: OK (${count(listeners, 'listener')}, ${count(users, 'user')})\n`);
  const warnings = [...securityWarnings(loaded.config, loaded.policy), ...policyWarnings(loaded.config)];
  for (const warning of warnings) io.stderr.write(`${file}: ${warning}\n`);
  return 0;
}

/**
 * Lists a warning for every user in report-only mode (`enforce: false`) and every user with
 * `allowScripts: true`, each as `users.NAME.FIELD: warning: ...`.
 */
export function policyWarnings(config: Config): string[] {
  const warnings: string[] = [];
  for (const [name, user] of Object.entries(config.users)) {
    if (user.enforce === false) {
      warnings.push(
        `users.${name}.enforce: warning: the user is in report-only mode, so commands that its ACL rules deny ` +
          'are logged and forwarded all the same. Remove "enforce: false" to enforce the rules',
      );
    }
    if (user.allowScripts === true) {
      warnings.push(
        `users.${name}.allowScripts: warning: scripts and functions from this user run with respguard's upstream ` +
          "rights, so they can read and write keys and run commands that the user's ACL rules deny",
      );
    }
  }
  return warnings;
}

/**
 * Lists settings that are valid but weaker than they could be: users allowed every command on
 * every key, plaintext passwords in the file, `nopass` users, plaintext listeners and an empty
 * blocklist. Each is `FIELD: warning: ...` with the fix.
 */
export function securityWarnings(config: Config, policy: Policy): string[] {
  const warnings: string[] = [];
  config.listeners.forEach((listener, i) => {
    if (listener.tls || isLoopbackHost(listener.host)) return;
    warnings.push(
      `listeners[${i}]: warning: plaintext listener on ${listener.host}:${listener.port}: passwords and data cross the network ` +
        'unencrypted. Add a tls section to it',
    );
  });
  if (config.blockCommands.length === 0) {
    warnings.push('blockCommands: warning: the blocklist is empty, so every user allowed FLUSHALL, CONFIG or SHUTDOWN by its rules can run them. Remove "blockCommands: []" to use the default list');
  }
  for (const [name, userConfig] of Object.entries(config.users)) {
    const user = policy.users.get(name);
    if (user instanceof AclUser && user.selectors.some((selector) => selector.allKeys && selector.commands.every((allowed) => allowed === 1))) {
      warnings.push(`users.${name}.acl: warning: the user may run every command on every key (+@all ~*). Grant only the categories and key patterns it needs`);
    }
    if (userConfig.acl.split(/\s+/).some((rule) => rule.startsWith('>'))) {
      warnings.push(`users.${name}.acl: warning: the file contains a plaintext password (">..."). Replace it with its "#<sha256>" form from respguard hash-password`);
    }
    if (user?.nopass && user.enabled) {
      warnings.push(`users.${name}.acl: warning: nopass lets anyone who reaches a listener log in as this user. Give it a password, a certificate (requireCertificate) or loopback-only sources`);
    }
  }
  return warnings;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
