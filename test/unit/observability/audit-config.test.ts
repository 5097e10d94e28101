import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { configErrors, MINIMAL } from '../config/helpers.js';

const TWO_USERS = `${MINIMAL}  ops:\n    acl: "on >ops-pw ~* +get"\n`;

describe('audit config', () => {
  it('is absent by default', () => {
    expect(parseConfig(MINIMAL, 'respguard.yaml', {}).audit).toBeUndefined();
  });

  it.each([
    ['all', 'audit: { commands: all }', 'all'],
    ['none', 'audit: { commands: none }', []],
    ['no commands key', 'audit: {}', []],
    ['a user list', 'audit: { commands: [ops, app, ops] }', ['ops', 'app']],
  ])('reads %s', (_name, yaml, commands) => {
    expect(parseConfig(`${TWO_USERS}${yaml}\n`, 'respguard.yaml', {}).audit).toEqual({ commands });
  });

  it('rejects an undefined user', () => {
    expect(configErrors(`${TWO_USERS}audit: { commands: [ops, nobody] }\n`)).toEqual([
      'respguard.yaml: audit.commands[1]: user "nobody" is not defined in users: add the user or remove the name',
    ]);
  });

  it('rejects a scalar other than all or none', () => {
    expect(configErrors(`${TWO_USERS}audit: { commands: everyone }\n`)).toEqual([
      'respguard.yaml: audit.commands: invalid value "everyone": expected "all", "none", or a list of user names',
    ]);
  });

  it('rejects an unknown key', () => {
    expect(configErrors(`${TWO_USERS}audit: { key: true }\n`)).toEqual([
      'respguard.yaml: audit.key: unknown key: did you mean "keys"?',
    ]);
  });

  it('rejects a non-string list item', () => {
    expect(configErrors(`${TWO_USERS}audit: { commands: [ops, 3] }\n`)).toEqual([
      'respguard.yaml: audit.commands[1]: invalid value "3": expected a user name',
    ]);
  });
});

describe('audit keys', () => {
  it('records key names when set', () => {
    expect(parseConfig(`${TWO_USERS}audit: { commands: all, keys: true }\n`, 'respguard.yaml', {}).audit).toEqual({ commands: 'all', keys: true });
  });

  it('rejects a non-boolean', () => {
    expect(configErrors(`${TWO_USERS}audit: { commands: all, keys: yes please }\n`)).toEqual([
      'respguard.yaml: audit.keys: invalid value "yes please": expected true or false',
    ]);
  });
});
