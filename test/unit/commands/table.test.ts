import { describe, expect, it } from 'vitest';
import { CommandTable } from '../../../src/commands/table.js';
import { COMMAND_RECORDS, REDIS_VERSION } from '../../../src/commands/table.generated.js';
import type { CommandRecord } from '../../../src/commands/types.js';

const args = (...parts: string[]): Buffer[] => parts.map((part) => Buffer.from(part, 'latin1'));

describe('CommandTable.default', () => {
  const table = CommandTable.default();

  it('comes from Redis 7.0.15', () => {
    expect(REDIS_VERSION).toBe('7.0.15');
    expect(COMMAND_RECORDS.length).toBe(240);
  });

  it('counts commands and subcommands', () => {
    const subcommands = COMMAND_RECORDS.reduce((sum, record) => sum + (record.subcommands?.length ?? 0), 0);
    expect(table.size).toBe(240 + subcommands);
    expect(table.size).toBe(366);
    expect(table.all().length).toBe(table.size);
  });

  it('numbers ids densely in all()', () => {
    table.all().forEach((info, id) => expect(info.id).toBe(id));
  });

  it('is built once', () => {
    expect(CommandTable.default()).toBe(table);
  });

  it('reads get from the records', () => {
    const get = table.get('get')!;
    expect(get.name).toBe('get');
    expect(get.arity).toBe(2);
    expect([...get.flags]).toEqual(['readonly', 'fast']);
    expect([...get.categories]).toEqual(['read', 'string', 'fast']);
    expect(get.keySpecs).toEqual([
      { flags: ['RO', 'ACCESS'], beginSearch: { type: 'index', index: 1 }, findKeys: { type: 'range', lastKey: 0, step: 1, limit: 0 } },
    ]);
    expect(get.subcommands).toBeUndefined();
    expect(get.parent).toBeUndefined();
  });

  it('lists the ACL categories of Redis 7.0', () => {
    expect([...table.categories()].sort()).toEqual([
      'admin', 'bitmap', 'blocking', 'connection', 'dangerous', 'fast', 'geo', 'hash', 'hyperloglog',
      'keyspace', 'list', 'pubsub', 'read', 'scripting', 'set', 'slow', 'sortedset', 'stream',
      'string', 'transaction', 'write',
    ]);
  });

  it('finds names in any case', () => {
    const get = table.get('get');
    expect(get).toBeDefined();
    expect(table.get('GET')).toBe(get);
    expect(table.get('gEt')).toBe(get);
    expect(table.get(Buffer.from('GeT'))).toBe(get);
    expect(table.get(Buffer.from('get '))).toBeUndefined();
    expect(table.get(Buffer.from('get\0'))).toBeUndefined();
    expect(table.get('ge')).toBeUndefined();
    expect(table.get('')).toBeUndefined();
    expect(table.get('x'.repeat(1000))).toBeUndefined();
  });

  it('folds ASCII letters only', () => {
    // '_' is 0x5f and DEL is 0x7f: folding every byte by 0x20 would confuse them.
    expect(table.get('EVAL_RO')!.name).toBe('eval_ro');
    expect(table.get(Buffer.from('eval\x7fro', 'latin1'))).toBeUndefined();
    // Redis's strcasecmp in the C locale does not fold latin1 letters such as 0xc7 and 0xe7.
    expect(table.get(Buffer.from([0x67, 0x65, 0x74 | 0x80]))).toBeUndefined();
  });

  it('finds every command by its own name', () => {
    for (const info of table.all()) {
      if (info.parent) continue;
      expect(table.get(info.name.toUpperCase())).toBe(info);
    }
  });

  it('links subcommands and their container', () => {
    const client = table.get('client')!;
    const setname = client.subcommands!.get('setname')!;
    expect(setname.name).toBe('client|setname');
    expect(setname.parent).toBe(client);
    expect(setname.arity).toBe(3);
    expect(client.subcommands!.size).toBe(16);
    expect(table.all()[setname.id]).toBe(setname);
  });

  it('does not look up subcommands by full name', () => {
    expect(table.get('client|setname')).toBeUndefined();
  });

  it('freezes command infos', () => {
    expect(Object.isFrozen(table.get('get'))).toBe(true);
  });
});

describe('CommandTable.resolve', () => {
  const table = CommandTable.default();

  it('resolves a plain command', () => {
    const result = table.resolve(args('GET', 'k'));
    expect(result).toEqual({ kind: 'ok', command: table.get('get') });
  });

  it('resolves a subcommand in any case', () => {
    const result = table.resolve(args('Client', 'SETNAME', 'x'));
    expect(result).toEqual({ kind: 'ok', command: table.get('client')!.subcommands!.get('setname') });
  });

  it('resolves a lone container to itself', () => {
    const result = table.resolve(args('client'));
    expect(result).toEqual({ kind: 'wrong-arity', command: table.get('client'), error: "ERR wrong number of arguments for 'client' command" });
  });

  it('treats an empty request as unknown', () => {
    expect(table.resolve([])).toEqual({ kind: 'unknown-command', error: "ERR unknown command '', with args beginning with: " });
  });

  it('checks arity at least for negative arity', () => {
    expect(table.resolve(args('mset', 'a')).kind).toBe('wrong-arity');
    expect(table.resolve(args('mset', 'a', 'b')).kind).toBe('ok');
    expect(table.resolve(args('mset', 'a', 'b', 'c', 'd')).kind).toBe('ok');
  });

  it('checks exact arity for positive arity', () => {
    expect(table.resolve(args('get')).kind).toBe('wrong-arity');
    expect(table.resolve(args('get', 'a', 'b')).kind).toBe('wrong-arity');
  });
});

describe('CommandTable.fromRecords', () => {
  const records: CommandRecord[] = [
    {
      name: 'Mod.Cmd',
      arity: -1,
      flags: ['WRITE', 'module'],
      categories: ['@Write', 'slow'],
      keySpecs: [],
      subcommands: [
        { name: 'mod.cmd|Sub', arity: 2, flags: [], categories: [], keySpecs: [] },
        { name: 'plain', arity: -2, flags: [], categories: ['read'], keySpecs: [] },
      ],
    },
    { name: 'ping', arity: -1, flags: ['fast'], categories: ['fast', 'connection'], keySpecs: [] },
  ];
  const table = CommandTable.fromRecords(records);

  it('normalizes names, flags and categories', () => {
    const command = table.get('MOD.CMD')!;
    expect(command.name).toBe('mod.cmd');
    expect([...command.flags]).toEqual(['write', 'module']);
    expect([...command.categories]).toEqual(['write', 'slow']);
  });

  it('names subcommands with and without a bar', () => {
    const command = table.get('mod.cmd')!;
    expect([...command.subcommands!.keys()]).toEqual(['sub', 'plain']);
    expect(command.subcommands!.get('sub')!.name).toBe('mod.cmd|sub');
    expect(command.subcommands!.get('plain')!.name).toBe('mod.cmd|plain');
  });

  it('assigns ids parent first', () => {
    expect(table.all().map((info) => info.name)).toEqual(['mod.cmd', 'mod.cmd|sub', 'mod.cmd|plain', 'ping']);
    expect(table.size).toBe(4);
  });

  it('collects categories of subcommands', () => {
    expect([...table.categories()].sort()).toEqual(['connection', 'fast', 'read', 'slow', 'write']);
  });

  it('resolves a module subcommand', () => {
    const result = table.resolve(args('MOD.CMD', 'PLAIN', 'x'));
    expect(result).toEqual({ kind: 'ok', command: table.get('mod.cmd')!.subcommands!.get('plain') });
  });
});
