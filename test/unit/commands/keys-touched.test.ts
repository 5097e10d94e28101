/**
 * Tests of extractTouchedKeys: the keys that GEORADIUS, GEORADIUSBYMEMBER, SORT and XREADGROUP
 * really touch in the argument shapes where Redis 7.0's key specs name other arguments. Each
 * shape is also run on redis-server 7.0.15 to show which key the command writes or reads, and
 * COMMAND GETKEYS shows that Redis 7.0 names another key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStrictInteger } from '../../../src/commands/arg-parsing.js';
import { extractKeys, keyFlagNames } from '../../../src/commands/keys.js';
import { extractTouchedKeys, parseSortOptions } from '../../../src/commands/keys-touched.js';
import { CommandTable } from '../../../src/commands/table.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { RedisQuery, type Reply } from '../../helpers/redis-query.js';

const table = CommandTable.default();
const args = (request: string): Buffer[] => request.split(' ').map((part) => Buffer.from(part, 'latin1'));

function resolve(request: Buffer[]) {
  const lookup = table.resolve(request);
  if (lookup.kind !== 'ok') throw new Error(`request does not resolve: ${lookup.kind}`);
  return lookup.command;
}

/** Touched keys as `name FLAG FLAG`, or undefined for a command without a parser. */
function touched(request: string): string[] | undefined {
  const parsed = args(request);
  return extractTouchedKeys(resolve(parsed), parsed)?.map((key) =>
    [parsed[key.index]!.toString('latin1'), ...keyFlagNames(key.flags)].join(' '),
  );
}

/** Keys of Redis 7.0's extraction, as names. */
function redis70Keys(request: string): string[] {
  const parsed = args(request);
  return extractKeys(resolve(parsed), parsed).map((key) => parsed[key.index]!.toString('latin1'));
}

describe('extractTouchedKeys', () => {
  it.each([
    ['georadius src 1 2 3 km store a store b', ['src RO ACCESS', 'b OW UPDATE'], ['src', 'a']],
    ['georadius src 1 2 3 km storedist a store b storedist c', ['src RO ACCESS', 'c OW UPDATE'], ['src', 'b', 'a']],
    ['georadius src 1 2 3 km count 5 store a asc store b', ['src RO ACCESS', 'b OW UPDATE'], ['src', 'a']],
    ['georadiusbymember src m 3 km store a storedist b', ['src RO ACCESS', 'b OW UPDATE'], ['src', 'a', 'b']],
    ['georadiusbymember src store 3 km store a store b', ['src RO ACCESS', 'b OW UPDATE'], ['src', 'a']],
    ['sort k store by store b', ['k RO ACCESS', 'b OW UPDATE'], ['k', 'by']],
    ['sort k store get store b', ['k RO ACCESS', 'b OW UPDATE'], ['k', 'get']],
    ['sort k store limit store b', ['k RO ACCESS', 'b OW UPDATE'], ['k', 'limit']],
    ['sort k store a store b', ['k RO ACCESS', 'b OW UPDATE'], ['k', 'b']],
    ['xreadgroup noack group g streams streams a >', ['a RO ACCESS'], ['streams']],
    ['xreadgroup count 1 group g streams streams a >', ['a RO ACCESS'], ['streams']],
    ['xreadgroup group g c count 1 group h streams streams a b > >', ['a RO ACCESS', 'b RO ACCESS'], ['streams', 'a']],
  ])('finds what %s touches', (request, expected, redis70) => {
    expect(touched(request)).toEqual(expected);
    expect(redis70Keys(request)).toEqual(redis70);
  });

  it.each([
    ['georadius src 1 2 3 km', ['src RO ACCESS']],
    ['georadius src 1 2 3 km withdist store a', ['src RO ACCESS', 'a OW UPDATE']],
    ['georadius src 1 2 3 km nosuchoption store a', ['src RO ACCESS']],
    ['georadius src 1 2 3 km store', ['src RO ACCESS']],
    ['sort k', ['k RO ACCESS']],
    ['sort k limit 0 1 store d', ['k RO ACCESS', 'd OW UPDATE']],
    ['sort k limit x 1 store d', ['k RO ACCESS']],
    ['sort k by w_* get # store d', ['k RO ACCESS', 'd OW UPDATE']],
    ['sort k store', ['k RO ACCESS']],
    ['xread streams a b 0 0', ['a RO ACCESS', 'b RO ACCESS']],
    ['xread count 1 block 0 streams a 0', ['a RO ACCESS']],
    ['xread streams a b 0', []],
    ['xread streams streams a 0 0', ['streams RO ACCESS', 'a RO ACCESS']],
    ['xreadgroup group g c streams a >', ['a RO ACCESS']],
  ])('keeps the usual keys of %s', (request, expected) => {
    expect(touched(request)).toEqual(expected);
  });

  it('has no parser for other commands', () => {
    expect(touched('get k')).toBeUndefined();
    expect(touched('sort_ro k by w_*')).toBeUndefined();
    expect(touched('migrate h 1 k 0 10')).toBeUndefined();
    expect(touched('georadius_ro src 1 2 3 km')).toBeUndefined();
  });
});

describe('parseSortOptions', () => {
  it.each([
    ['sort k', -1, undefined],
    ['sort k by w', -1, undefined],
    ['sort k by w_*', 3, 'BY'],
    ['sort k get #', 3, 'GET'],
    ['sort k by w get # by x_*', 5, 'GET'],
    ['sort k alpha desc limit 0 1 by w_*', 8, 'BY'],
    ['sort k limit 0 x by w_*', -1, undefined],
    ['sort k nosuchoption get #', -1, undefined],
    ['sort k store get', -1, undefined],
  ] as const)('finds the pattern of %s', (request, pattern, option) => {
    const options = parseSortOptions(args(request), false);
    expect(options.pattern).toBe(pattern);
    expect(options.patternOption).toBe(option);
  });

  it('stops at STORE in SORT_RO', () => {
    expect(parseSortOptions(args('sort_ro k store d get #'), true)).toEqual({ store: -1, pattern: -1, patternOption: undefined });
    expect(parseSortOptions(args('sort_ro k get #'), true)).toEqual({ store: -1, pattern: 3, patternOption: 'GET' });
  });

  it('ignores a star after a NUL byte', () => {
    const request = [...args('sort k by'), Buffer.from('w\0*')];
    expect(parseSortOptions(request, false).pattern).toBe(-1);
  });
});

describe('isStrictInteger', () => {
  it.each(['0', '1', '-1', '42', '9223372036854775807', '-9223372036854775808'])('accepts %j', (text) => {
    expect(isStrictInteger(Buffer.from(text))).toBe(true);
  });

  it.each(['', '+1', ' 1', '1 ', '01', '-0', '-', '1x', '9223372036854775808', '-9223372036854775809', '1\0'])(
    'rejects %j',
    (text) => {
      expect(isStrictInteger(Buffer.from(text))).toBe(false);
    },
  );
});

describe('touched keys on redis-server', () => {
  let redis: RedisServer;
  let query: RedisQuery;

  beforeAll(async () => {
    redis = await startRedis();
    query = await RedisQuery.connect(redis.port);
  });

  afterAll(async () => {
    query?.close();
    await redis?.stop();
  });

  /** Runs `setup` and `request`, then returns which of `keys` exist. */
  async function existingAfter(setup: string[][], request: string, keys: string[]): Promise<Reply[]> {
    await query.call(['FLUSHALL']);
    for (const command of setup) await query.call(command);
    await query.call(args(request));
    return query.pipeline(keys.map((key) => ['EXISTS', key]));
  }

  it('writes the last GEORADIUS destination', async () => {
    const setup = [['GEOADD', 'src', '13.36', '38.11', 'm1']];
    expect(await existingAfter(setup, 'georadius src 13.36 38.11 100 km store a store b', ['a', 'b'])).toEqual([0, 1]);
    expect(await existingAfter(setup, 'georadius src 13.36 38.11 100 km storedist a store b storedist c', ['a', 'b', 'c'])).toEqual([0, 0, 1]);
    expect(await existingAfter(setup, 'georadiusbymember src m1 100 km store a store b', ['a', 'b'])).toEqual([0, 1]);
    expect(await query.call(['COMMAND', 'GETKEYS', ...args('georadius src 13.36 38.11 100 km store a store b')])).toEqual(['src', 'a']);
  });

  it('writes the SORT destination after a STORE named like an option', async () => {
    const setup = [['RPUSH', 'k', '3', '1', '2']];
    expect(await existingAfter(setup, 'sort k store by store b', ['by', 'b'])).toEqual([0, 1]);
    expect(await existingAfter(setup, 'sort k store get store b', ['get', 'b'])).toEqual([0, 1]);
    expect(await existingAfter(setup, 'sort k store limit store b', ['limit', 'b'])).toEqual([0, 1]);
    expect(await query.call(['COMMAND', 'GETKEYS', ...args('sort k store by store b')])).toEqual(['k', 'by']);
  });

  it('reads the stream after a consumer named STREAMS', async () => {
    await query.call(['FLUSHALL']);
    await query.call(['XADD', 'a', '1-1', 'f', 'v']);
    await query.call(['XGROUP', 'CREATE', 'a', 'g', '0']);
    const reply = await query.call(args('xreadgroup noack group g streams streams a >'));
    expect(reply).toEqual([['a', [['1-1', ['f', 'v']]]]]);
    expect(await query.call(['COMMAND', 'GETKEYS', ...args('xreadgroup noack group g streams streams a >')])).toEqual(['streams']);
  });
});
