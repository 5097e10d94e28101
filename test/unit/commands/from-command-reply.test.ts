import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordsFromCommandReply } from '../../../src/commands/from-command-reply.js';
import { COMMAND_RECORDS, REDIS_VERSION } from '../../../src/commands/table.generated.js';
import type { CommandRecord } from '../../../src/commands/types.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { RedisQuery, type Reply } from '../../helpers/redis-query.js';

function sortedByName(records: CommandRecord[]): CommandRecord[] {
  // The generator sorts by UTF-16 code units, as `<` compares strings.
  const byName = (a: CommandRecord, b: CommandRecord): number => {
    if (a.name === b.name) return 0;
    return a.name < b.name ? -1 : 1;
  };
  for (const record of records) record.subcommands?.sort(byName);
  return records.sort(byName);
}

/** Turns every string of a decoded reply into a Buffer, as redis-parser's returnBuffers mode does. */
function withBuffers(reply: unknown): unknown {
  if (typeof reply === 'string') return Buffer.from(reply, 'latin1');
  if (Array.isArray(reply)) return reply.map(withBuffers);
  return reply;
}

describe('recordsFromCommandReply on a live server', () => {
  let redis: RedisServer;
  let query: RedisQuery;
  let reply: Reply;

  beforeAll(async () => {
    redis = await startRedis();
    query = await RedisQuery.connect(redis.port);
    reply = await query.call(['COMMAND']);
  });

  afterAll(async () => {
    query?.close();
    await redis?.stop();
  });

  it('runs the version of the generated table', async () => {
    const info = await query.call(['INFO', 'server']);
    expect(typeof info).toBe('string');
    expect(/^redis_version:(\S+)/m.exec(info as string)?.[1]).toBe(REDIS_VERSION);
  });

  it('equals the generated records', () => {
    const records = sortedByName(recordsFromCommandReply(reply));
    expect(records.length).toBe(COMMAND_RECORDS.length);
    expect(records).toEqual(COMMAND_RECORDS);
  });

  it('reads Buffers like strings', () => {
    expect(sortedByName(recordsFromCommandReply(withBuffers(reply)))).toEqual(COMMAND_RECORDS);
  });

  it('reads one command from COMMAND INFO', async () => {
    const info = await query.call(['COMMAND', 'INFO', 'xread']);
    expect(recordsFromCommandReply(info)).toEqual([
      {
        name: 'xread',
        arity: -4,
        flags: ['readonly', 'blocking', 'movablekeys'],
        categories: ['read', 'stream', 'slow', 'blocking'],
        keySpecs: [
          {
            flags: ['RO', 'ACCESS'],
            beginSearch: { type: 'keyword', keyword: 'STREAMS', startFrom: 1 },
            findKeys: { type: 'range', lastKey: -1, step: 1, limit: 2 },
          },
        ],
      },
    ]);
  });

  it('skips commands COMMAND INFO does not know', async () => {
    const info = await query.call(['COMMAND', 'INFO', 'nosuch', 'get']);
    expect(recordsFromCommandReply(info).map((record) => record.name)).toEqual(['get']);
  });
});

describe('recordsFromCommandReply on other shapes', () => {
  it('rejects a reply that is not an array', () => {
    expect(() => recordsFromCommandReply('OK')).toThrow('invalid COMMAND reply: expected an array, got string');
    expect(() => recordsFromCommandReply(new Error('ERR x'))).toThrow('invalid COMMAND reply: expected an array, got error "ERR x"');
  });

  it('reads a module command without key specs', () => {
    // The shape Redis 7.0 gives module commands: no key specs, no subcommands.
    const reply = [['MyMod.Get', 2, ['readonly', 'module'], 1, 1, 1, ['@read', '@Slow'], []]];
    expect(recordsFromCommandReply(reply)).toEqual([
      { name: 'mymod.get', arity: 2, flags: ['readonly', 'module'], categories: ['read', 'slow'], keySpecs: [] },
    ]);
  });

  it('ignores fields of newer servers', () => {
    const spec = [
      'notes', 'something new',
      'flags', ['rw', 'Insert', 'brand_new'],
      'begin_search', ['type', 'index', 'spec', ['index', 2, 'extra', 1]],
      'find_keys', ['type', 'keynum', 'spec', ['keynumidx', '0', 'firstkey', '1', 'keystep', '1']],
      'future', ['x'],
    ];
    const reply = [['new', -3, ['write'], 0, 0, 0, ['@write'], ['tip'], [spec], [], 'doc', ['more']]];
    expect(recordsFromCommandReply(reply)).toEqual([
      {
        name: 'new',
        arity: -3,
        flags: ['write'],
        categories: ['write'],
        keySpecs: [
          {
            flags: ['RW', 'INSERT', 'BRAND_NEW'],
            beginSearch: { type: 'index', index: 2 },
            findKeys: { type: 'keynum', keyNumIdx: 0, firstKey: 1, step: 1 },
          },
        ],
      },
    ]);
  });

  it('maps unknown search types to unknown', () => {
    const specs = [
      ['flags', ['RO'], 'begin_search', ['type', 'unknown', 'spec', []], 'find_keys', ['type', 'unknown', 'spec', []]],
      ['flags', [], 'begin_search', ['type', 'regex', 'spec', ['pattern', 'x']], 'find_keys', ['type', 'range', 'spec', ['lastkey', 0]]],
      ['flags', ['OW']],
    ];
    const records = recordsFromCommandReply([['odd', -1, [], 0, 0, 0, [], [], specs]]);
    expect(records[0]!.keySpecs).toEqual([
      { flags: ['RO'], beginSearch: { type: 'unknown' }, findKeys: { type: 'unknown' } },
      { flags: [], beginSearch: { type: 'unknown' }, findKeys: { type: 'unknown' } },
      { flags: ['OW'], beginSearch: { type: 'unknown' }, findKeys: { type: 'unknown' } },
    ]);
  });

  it('skips entries without a name', () => {
    const reply = [null, [], [42, 1], ['ok', 1, [], 0, 0, 0, [], [], []]];
    expect(recordsFromCommandReply(reply).map((record) => record.name)).toEqual(['ok']);
  });

  it('reads subcommands recursively', () => {
    const sub = ['Mod|Sub', 2, ['fast'], 0, 0, 0, ['@fast'], [], []];
    const reply = [['Mod', -2, [], 0, 0, 0, ['@slow'], [], [], [sub]]];
    expect(recordsFromCommandReply(reply)).toEqual([
      {
        name: 'mod',
        arity: -2,
        flags: [],
        categories: ['slow'],
        keySpecs: [],
        subcommands: [{ name: 'mod|sub', arity: 2, flags: ['fast'], categories: ['fast'], keySpecs: [] }],
      },
    ]);
  });
});
