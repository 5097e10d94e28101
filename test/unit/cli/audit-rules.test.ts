import { describe, expect, it } from 'vitest';
import { summarizeAclList } from '../../../src/cli/audit-acl.js';
import type { AuditFacts } from '../../../src/cli/audit-checks.js';
import { findIssues } from '../../../src/cli/audit-findings.js';
import { parseRedisUrl } from '../../../src/cli/audit-client.js';
import { CommandTable } from '../../../src/commands/table.js';

const table = CommandTable.default();

function facts(overrides: Partial<AuditFacts>): AuditFacts {
  return { transport: 'plaintext', anonymous: 'closed', version: '7.0.15', config: new Map(), notChecked: [], ...overrides };
}

const ids = (input: Partial<AuditFacts>) => findIssues(facts(input)).map((finding) => `${finding.severity} ${finding.id}`);

describe('summarizeAclList', () => {
  it.each([
    ['user default on nopass ~* &* +@all', { enabled: true, nopass: true, allCommandsAllKeys: true, dangerous: true }],
    ['user app on #5e88 ~* resetchannels +@all -@dangerous', { enabled: true, nopass: false, allCommandsAllKeys: false, dangerous: false }],
    ['user app off #5e88 ~* +@all', { enabled: false, nopass: false, allCommandsAllKeys: true, dangerous: true }],
    ['user app on #5e88 ~app:* -@all +get +flushall', { enabled: true, nopass: false, allCommandsAllKeys: false, dangerous: true }],
    ['user app on #5e88 ~app:* -@all +get +config|get', { enabled: true, nopass: false, allCommandsAllKeys: false, dangerous: true }],
    ['user app on #5e88 ~app:* -@all +get +client|setname', { enabled: true, nopass: false, allCommandsAllKeys: false, dangerous: false }],
    ['user app on #5e88 ~app:* -@all +flushall -@dangerous +get', { enabled: true, nopass: false, allCommandsAllKeys: false, dangerous: false }],
    ['user app on #5e88 ~app:* -@all +@admin', { enabled: true, nopass: false, allCommandsAllKeys: false, dangerous: true }],
    ['user app on #5e88 ~app:* -@all +get (~* +@all)', { enabled: true, nopass: false, allCommandsAllKeys: true, dangerous: true }],
    ['user app on #5e88 ~* +@all -debug', { enabled: true, nopass: false, allCommandsAllKeys: false, dangerous: true }],
    ['user app on #5e88 %R~* +@all', { enabled: true, nopass: false, allCommandsAllKeys: false, dangerous: true }],
  ])('reads %s', (line, expected) => {
    expect(summarizeAclList([line], table)).toEqual([{ name: line.split(' ')[1], ...expected }]);
  });

  it('skips lines that are not users', () => {
    expect(summarizeAclList(['', 'something else'], table)).toEqual([]);
  });

  it('keeps no password hash', () => {
    expect(JSON.stringify(summarizeAclList(['user app on #5e884898da28 ~* +@all'], table))).not.toContain('5e884898da28');
  });
});

describe('findIssues', () => {
  it('finds nothing on a hardened server', () => {
    const config = new Map([
      ['protected-mode', 'yes'],
      ['bind', '10.0.0.5'],
      ['port', '0'],
      ['tls-port', '6380'],
      ['enable-debug-command', 'no'],
    ]);
    expect(ids({ config, users: [], availableDangerous: [] })).toEqual([]);
  });

  it('rates binding all interfaces by password', () => {
    const config = new Map([['bind', '* -::*']]);
    expect(ids({ config, anonymous: 'open' })).toEqual(['high no-password', 'high bind-all-interfaces']);
    expect(ids({ config })).toEqual(['medium bind-all-interfaces']);
    expect(ids({ config: new Map([['bind', '']]) })).toEqual(['medium bind-all-interfaces']);
    expect(ids({ config: new Map([['bind', '127.0.0.1 -::1']]) })).toEqual([]);
  });

  it('rates missing TLS by bind address', () => {
    expect(ids({ config: new Map([['tls-port', '0'], ['bind', '127.0.0.1 -::1']]) })).toEqual(['low no-tls']);
    expect(ids({ config: new Map([['tls-port', '0'], ['bind', '10.0.0.5']]) })).toEqual(['medium no-tls']);
    expect(ids({ config: new Map([['tls-port', '6380'], ['port', '6379']]) })).toEqual(['medium plaintext-port-open']);
  });

  it('rates protected mode by password', () => {
    expect(ids({ config: new Map([['protected-mode', 'no']]) })).toEqual(['low protected-mode-off']);
    expect(ids({ config: new Map([['protected-mode', 'no']]), anonymous: 'protected' })).toEqual(['high no-password', 'high protected-mode-off']);
  });

  it('finds a nopass default user in ACL LIST', () => {
    const users = summarizeAclList(['user default on nopass ~app:* -@all +get'], table);
    expect(ids({ anonymous: 'unknown', users })).toEqual(['high no-password']);
  });

  it('names users without a password', () => {
    const users = summarizeAclList(['user default off', 'user svc on nopass ~* -@all +get', 'user old off nopass ~* +get'], table);
    const [finding] = findIssues(facts({ users }));
    expect(finding).toMatchObject({ id: 'nopass-users', severity: 'high', title: 'Users that log in with any password (nopass): svc.' });
  });

  it('rates enabled admin commands', () => {
    const config = new Map([
      ['enable-debug-command', 'yes'],
      ['enable-module-command', 'local'],
      ['enable-protected-configs', 'no'],
    ]);
    expect(ids({ config })).toEqual(['medium enable-debug-command', 'low enable-module-command']);
  });

  it('flags a version without ACLs', () => {
    expect(ids({ version: '5.0.14' })).toEqual(['medium old-version']);
  });
});

describe('parseRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1:6400', { host: '127.0.0.1', port: 6400, tls: false }],
    ['rediss://db.internal', { host: 'db.internal', port: 6379, tls: true }],
    ['redis://:p%40ss@[::1]:6400/2', { host: '::1', port: 6400, tls: false, password: 'p@ss' }],
    ['redis://ops:pw@127.0.0.1:6400', { host: '127.0.0.1', port: 6400, tls: false, username: 'ops', password: 'pw' }],
  ])('reads %s', (url, expected) => {
    expect(parseRedisUrl(url)).toEqual(expected);
  });

  it('takes the fallback password', () => {
    expect(parseRedisUrl('redis://ops@127.0.0.1:6400', 'from-env')).toEqual({ host: '127.0.0.1', port: 6400, tls: false, username: 'ops', password: 'from-env' });
  });

  it('keeps the password out of errors', () => {
    expect(() => parseRedisUrl('ftp://u:secret-pw@host')).toThrow('unsupported URL scheme "ftp:": use redis:// or rediss:// (TLS)');
  });
});
