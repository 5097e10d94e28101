import { describe, expect, it } from 'vitest';
import { DEFAULT_BLOCKED_COMMANDS } from '../../../src/acl/blocklist.js';
import { CommandTable } from '../../../src/commands/table.js';
import { parseConfig } from '../../../src/config/load.js';
import { buildPolicy } from '../../../src/policy.js';

const table = CommandTable.default();

function policyOf(users: string): ReturnType<typeof buildPolicy> {
  const yaml = `listeners:\n  - { host: 127.0.0.1, port: 6380 }\nusers:\n${users}`;
  return buildPolicy(parseConfig(yaml, 'policy.yaml', {}), table);
}

function eval0() {
  const args = ['eval', 'return 1', '0'].map((arg) => Buffer.from(arg));
  const lookup = table.resolve(args);
  if (lookup.kind !== 'ok') throw new Error('eval does not resolve');
  return { command: lookup.command, args };
}

describe('buildPolicy', () => {
  it('sets report-only mode from enforce', () => {
    const policy = policyOf(
      '  shadow: { acl: "on >a ~a* +get", enforce: false }\n  strict: { acl: "on >b ~b* +get", enforce: true }\n  plain: { acl: "on >c +get" }\n',
    );
    expect(policy.users.get('shadow')!.reportOnly).toBe(true);
    expect(policy.users.get('strict')!.reportOnly).toBe(false);
    expect(policy.users.get('plain')!.reportOnly).toBe(false);
  });

  it('allows scripts only to opted-in users', () => {
    const policy = policyOf(
      '  scripted: { acl: "on >a ~a* +@scripting", allowScripts: true }\n  restricted: { acl: "on >b ~a* +@scripting" }\n  admin: { acl: "on >c ~* &* +@all" }\n',
    );
    const { command, args } = eval0();
    expect(policy.users.get('scripted')!.allowScripts).toBe(true);
    expect(policy.users.get('scripted')!.check(command, args)).toEqual({ allowed: true });
    expect(policy.users.get('restricted')!.check(command, args)).toEqual({ allowed: false, reason: 'script', command: 'eval', stricter: true });
    // With the default blocklist in force, even a user allowed everything needs the opt-in:
    // a script's own commands would pass the blocklist unchecked.
    expect(policy.users.get('admin')!.check(command, args)).toEqual({ allowed: false, reason: 'script', command: 'eval', stricter: true });
  });

  it('allows scripts to unrestricted users when nothing is blocked', () => {
    const yaml = 'listeners:\n  - { host: 127.0.0.1, port: 6380 }\nblockCommands: []\nusers:\n  admin: { acl: "on >c ~* &* +@all" }\n  restricted: { acl: "on >b ~a* +@scripting" }\n';
    const policy = buildPolicy(parseConfig(yaml, 'policy.yaml', {}), table);
    const { command, args } = eval0();
    expect(policy.users.get('admin')!.check(command, args)).toEqual({ allowed: true });
    expect(policy.users.get('restricted')!.check(command, args)).toEqual({ allowed: false, reason: 'script', command: 'eval', stricter: true });
  });

  it('blocks only the ACL subcommands that change users', () => {
    expect(DEFAULT_BLOCKED_COMMANDS.filter((name) => name.startsWith('ACL|'))).toEqual(['ACL|SETUSER', 'ACL|DELUSER', 'ACL|LOAD', 'ACL|SAVE']);
    const policy = policyOf('  app: { acl: "on >a +@all" }\n');
    for (const subcommand of ['list', 'users', 'log', 'cat', 'whoami']) {
      const lookup = table.resolve(['acl', subcommand].map((arg) => Buffer.from(arg)));
      expect(lookup.kind).toBe('ok');
      if (lookup.kind === 'ok') expect(policy.blocklist.blocks(lookup.command)).toBe(false);
    }
  });
});
