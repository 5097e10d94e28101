import { describe, expect, it } from 'vitest';
import {
  extractKeys,
  KEY_FLAG_ACCESS,
  KEY_FLAG_DELETE,
  KEY_FLAG_INCOMPLETE,
  KEY_FLAG_INSERT,
  KEY_FLAG_NOT_KEY,
  KEY_FLAG_OW,
  KEY_FLAG_RM,
  KEY_FLAG_RO,
  KEY_FLAG_RW,
  KEY_FLAG_UPDATE,
  KEY_FLAG_VARIABLE_FLAGS,
  keyFlagNames,
  keyFlagsFromNames,
  prepareKeyExtraction,
} from '../../../src/commands/keys.js';
import { CommandTable } from '../../../src/commands/table.js';
import type { CommandRecord, KeySpec } from '../../../src/commands/types.js';
import { TARGETED_REQUESTS } from './key-cases.js';

const table = CommandTable.default();
const args = (request: string): Buffer[] => request.split(' ').map((part) => Buffer.from(part, 'latin1'));

/** Resolves and extracts, with keys as `index FLAG FLAG` like the cases in key-cases.ts. */
function keysOf(request: Buffer[], commands = table): string[] {
  const result = commands.resolve(request);
  if (result.kind !== 'ok') throw new Error(`request does not resolve: ${result.kind}`);
  return extractKeys(result.command, request).map((key) => [String(key.index), ...keyFlagNames(key.flags)].join(' '));
}

describe('extractKeys on hand-picked requests', () => {
  for (const testCase of TARGETED_REQUESTS) {
    const shown = testCase.args.map((arg) => JSON.stringify(arg.toString('latin1'))).join(' ');
    it(`finds the keys of ${shown}`, () => {
      expect(keysOf(testCase.args)).toEqual(testCase.keys);
    });
  }
});

describe('extractKeys', () => {
  it('keeps the PFMERGE destination without sources', () => {
    // Redis 7.0.15 reports no keys here, so its ACL would not check the written key.
    expect(keysOf(args('pfmerge d'))).toEqual(['1 RW ACCESS INSERT']);
    expect(keysOf(args('pfmerge d a b'))).toEqual(['1 RW ACCESS INSERT', '2 RO ACCESS', '3 RO ACCESS']);
  });

  it('returns flags as bitmasks', () => {
    const get = table.get('get')!;
    expect(extractKeys(get, args('get k'))).toEqual([{ index: 1, flags: KEY_FLAG_RO | KEY_FLAG_ACCESS }]);
  });

  it('extracts subcommand keys', () => {
    expect(keysOf(args('OBJECT ENCODING k'))).toEqual(['2 RO']);
    expect(keysOf(args('xgroup createconsumer s g c'))).toEqual(['2 RW INSERT']);
  });

  it('returns no keys for keyless commands', () => {
    expect(keysOf(args('ping'))).toEqual([]);
    expect(keysOf(args('client id'))).toEqual([]);
  });
});

/** Builds a one-command table from key specs, like one refreshed from a module's `COMMAND`. */
function moduleTable(arity: number, keySpecs: KeySpec[]): CommandTable {
  const record: CommandRecord = { name: 'mod.cmd', arity, flags: ['module'], categories: [], keySpecs };
  return CommandTable.fromRecords([record]);
}

const rangeSpec = (flags: string[], index: number, lastKey: number, step = 1, limit = 0): KeySpec => ({
  flags,
  beginSearch: { type: 'index', index },
  findKeys: { type: 'range', lastKey, step, limit },
});

describe('extractKeys on module commands', () => {
  it('steps through a range', () => {
    const commands = moduleTable(-2, [rangeSpec(['RW'], 1, -1, 3)]);
    expect(keysOf(args('mod.cmd a x y b x y c'), commands)).toEqual(['1 RW', '4 RW', '7 RW']);
  });

  it('counts lastKey forwards from the begin index', () => {
    const commands = moduleTable(-2, [rangeSpec(['RO'], 2, 1)]);
    expect(keysOf(args('mod.cmd x a b c'), commands)).toEqual(['2 RO', '3 RO']);
  });

  it('takes a fraction of the rest with a limit', () => {
    const commands = moduleTable(-2, [rangeSpec(['RO'], 1, -1, 1, 3)]);
    expect(keysOf(args('mod.cmd a b x y z w'), commands)).toEqual(['1 RO', '2 RO']);
  });

  it('searches a keyword backwards', () => {
    const spec: KeySpec = {
      flags: ['OW'],
      beginSearch: { type: 'keyword', keyword: 'TO', startFrom: -2 },
      findKeys: { type: 'range', lastKey: 0, step: 1, limit: 0 },
    };
    const commands = moduleTable(-2, [spec]);
    expect(keysOf(args('mod.cmd to a to b'), commands)).toEqual(['4 OW']);
    // Backwards search never tests argument 1.
    expect(keysOf(args('mod.cmd to a'), commands)).toEqual([]);
  });

  it('reads a keynum with a step', () => {
    const spec: KeySpec = {
      flags: ['RW', 'UPDATE'],
      beginSearch: { type: 'index', index: 1 },
      findKeys: { type: 'keynum', keyNumIdx: 0, firstKey: 1, step: 2 },
    };
    const commands = moduleTable(-2, [spec]);
    expect(keysOf(args('mod.cmd 4 a 1 b 2'), commands)).toEqual(['2 RW UPDATE', '4 RW UPDATE']);
  });

  it('keeps valid specs when another is invalid', () => {
    // Redis would ask the module's getkeys callback, which a proxy cannot call.
    const unknown: KeySpec = { flags: ['RO'], beginSearch: { type: 'unknown' }, findKeys: { type: 'unknown' } };
    const commands = moduleTable(-2, [rangeSpec(['RW'], 1, 0), unknown, rangeSpec(['OW'], 2, 0)]);
    expect(keysOf(args('mod.cmd a b'), commands)).toEqual(['1 RW', '2 OW']);
  });

  it('keeps the keys of an incomplete spec', () => {
    const commands = moduleTable(-2, [rangeSpec(['RW', 'INCOMPLETE'], 1, 0)]);
    expect(keysOf(args('mod.cmd a'), commands)).toEqual(['1 RW INCOMPLETE']);
  });

  it('skips not-key specs', () => {
    const commands = moduleTable(-2, [rangeSpec(['NOT_KEY'], 1, 0), rangeSpec(['RO'], 2, 0)]);
    expect(keysOf(args('mod.cmd ch k'), commands)).toEqual(['2 RO']);
  });

  it('uses variable-flag specs as declared', () => {
    const commands = moduleTable(-2, [rangeSpec(['RW', 'VARIABLE_FLAGS'], 1, 0)]);
    expect(keysOf(args('mod.cmd a'), commands)).toEqual(['1 RW VARIABLE_FLAGS']);
  });

  it('compiles commands outside a table on first use', () => {
    const get = table.get('get')!;
    const copy = { ...get };
    expect(extractKeys(copy, args('get k'))).toEqual([{ index: 1, flags: KEY_FLAG_RO | KEY_FLAG_ACCESS }]);
    prepareKeyExtraction(copy);
    expect(extractKeys(copy, args('get k'))).toEqual([{ index: 1, flags: KEY_FLAG_RO | KEY_FLAG_ACCESS }]);
  });
});

describe('key flags', () => {
  it('have the values of Redis CMD_KEY_*', () => {
    expect([
      KEY_FLAG_RO, KEY_FLAG_RW, KEY_FLAG_OW, KEY_FLAG_RM, KEY_FLAG_ACCESS, KEY_FLAG_UPDATE,
      KEY_FLAG_INSERT, KEY_FLAG_DELETE, KEY_FLAG_NOT_KEY, KEY_FLAG_INCOMPLETE, KEY_FLAG_VARIABLE_FLAGS,
    ]).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
  });

  it('convert from names in any case', () => {
    expect(keyFlagsFromNames(['RW', 'access', 'Delete'])).toBe(KEY_FLAG_RW | KEY_FLAG_ACCESS | KEY_FLAG_DELETE);
    expect(keyFlagsFromNames(['RO', 'NEWER_FLAG'])).toBe(KEY_FLAG_RO);
    expect(keyFlagsFromNames([])).toBe(0);
  });

  it('convert to names in Redis order', () => {
    expect(keyFlagNames(KEY_FLAG_DELETE | KEY_FLAG_RW | KEY_FLAG_ACCESS)).toEqual(['RW', 'ACCESS', 'DELETE']);
    expect(keyFlagNames(0)).toEqual([]);
  });
});
