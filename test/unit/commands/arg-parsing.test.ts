/**
 * Tests of the integer parsers behind key extraction. numkeys must be read exactly as Redis
 * reads it, so that the keys respguard checks are the keys a script or command receives: each
 * count is also given to EVAL on redis-server 7.0.15, which returns the KEYS it got.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atoi, parseKeyCount } from '../../../src/commands/arg-parsing.js';
import { extractKeys } from '../../../src/commands/keys.js';
import { CommandTable } from '../../../src/commands/table.js';
import { isErrorReply, RedisQuery } from '../../helpers/redis-query.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';

const COUNTS = ['0', '1', '2', '3', '-1', '-0', '+1', '01', ' 1', '1 ', '1x', 'x', '', '1\0', '2147483649', '4294967297', '9223372036854775807', '9223372036854775808'];

describe('parseKeyCount', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['42', 42],
    ['2147483648', -2147483648],
    ['4294967297', 1],
    ['9223372036854775807', -1],
  ])('reads %j as %d', (text, value) => {
    expect(parseKeyCount(Buffer.from(text))).toBe(value);
  });

  it.each(['', '-1', '-0', '+1', '01', ' 1', '1 ', '1x', '1\0', '9223372036854775808', '123456789012345678901'])('rejects %j', (text) => {
    expect(parseKeyCount(Buffer.from(text))).toBeUndefined();
  });
});

describe('atoi', () => {
  it.each([
    ['1', 1],
    [' 2', 2],
    ['\t3x', 3],
    ['+4', 4],
    ['-5', -5],
    ['x', 0],
    ['', 0],
    ['4294967297', 1],
    ['99999999999999999999', -1],
  ])('reads %j as %d', (text, value) => {
    expect(atoi(Buffer.from(text))).toBe(value);
  });
});

describe('numkeys on redis-server', () => {
  const table = CommandTable.default();
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

  it('checks every key a script receives', async () => {
    const requests = COUNTS.map((count) => ['EVAL', 'return KEYS', count, 'a', 'b', 'c'].map((arg) => Buffer.from(arg)));
    const replies = await query.pipeline(requests);
    let scriptsRun = 0;
    requests.forEach((args, i) => {
      const reply = replies[i]!;
      if (isErrorReply(reply)) return;
      scriptsRun++;
      const lookup = table.resolve(args);
      if (lookup.kind !== 'ok') throw new Error('EVAL does not resolve');
      const checked = extractKeys(lookup.command, args).map((key) => args[key.index]!.toString());
      expect({ count: COUNTS[i], keys: checked }).toEqual({ count: COUNTS[i], keys: reply });
    });
    // Only canonical counts run a script; every other form is rejected by Redis.
    expect(scriptsRun).toBe(4);
  });
});
