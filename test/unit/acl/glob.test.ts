import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGlob } from '../../../src/acl/glob.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { RedisQuery } from '../../helpers/redis-query.js';
import { seededRandom } from '../../helpers/seeded-random.js';

function matches(pattern: string | Buffer, subject: string | Buffer): boolean {
  const bytes = typeof subject === 'string' ? Buffer.from(subject, 'latin1') : subject;
  return compileGlob(typeof pattern === 'string' ? Buffer.from(pattern, 'latin1') : pattern).matches(bytes);
}

describe('glob matching', () => {
  it.each([
    ['', '', true],
    ['', 'a', false],
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['abc', 'abcd', false],
    ['ab*', 'a', false],
    ['abc', 'ABC', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*', 'anything', true],
    ['*', '', false],
    ['a*', 'a', true],
    ['a*', '', false],
    ['*a', 'a', true],
    ['**a**', 'xxa', true],
    ['a*b*c', 'a-b-c', true],
    ['a*b*c', 'a-c-b', false],
    ['cache:*', 'cache:', true],
    ['cache:*', 'cach', false],
  ])('%j on %j gives %j', (pattern, subject, expected) => {
    expect(matches(pattern, subject)).toBe(expected);
  });

  it.each([
    ['[abc]', 'b', true],
    ['[abc]', 'd', false],
    ['[^abc]', 'd', true],
    ['[^abc]', 'a', false],
    ['[a-c]', 'b', true],
    ['[c-a]', 'b', true],
    ['[a-c]', 'd', false],
    ['[]', 'a', false],
    ['[', 'a', false],
    ['[^', 'a', true],
    ['[abc', 'c', true],
    ['[abc', 'cc', false],
    ['[a-]', '_', true],
    ['[a-]', '-', false],
    ['[a-]x', '_', true],
    ['[a-]x', 'x', true],
    ['[a-]x', '_x', false],
    ['[\\]]', ']', true],
    ['[\\', '\\', true],
    ['[a\\-z]', '-', true],
    ['[a\\-z]', 'b', false],
  ])('class %j on %j gives %j', (pattern, subject, expected) => {
    expect(matches(pattern, subject)).toBe(expected);
  });

  it.each([
    ['\\*', '*', true],
    ['\\*', 'a', false],
    ['\\?', '?', true],
    ['\\[a]', '[a]', true],
    ['a\\', 'a\\', true],
    ['\\a', 'a', true],
  ])('escape %j on %j gives %j', (pattern, subject, expected) => {
    expect(matches(pattern, subject)).toBe(expected);
  });

  it('compares range bounds as signed chars', () => {
    // 'a'..0xff is -1..97 when bytes are signed, so it contains 0xff and the bytes up to 'a'.
    const pattern = Buffer.from([0x5b, 0x61, 0x2d, 0xff, 0x5d]);
    expect(matches(pattern, Buffer.from([0xff]))).toBe(true);
    expect(matches(pattern, Buffer.from([0x30]))).toBe(true);
    expect(matches(pattern, Buffer.from([0x62]))).toBe(false);
    expect(matches(pattern, Buffer.from([0x80]))).toBe(false);
  });

  it('matches a slice of a buffer', () => {
    const glob = compileGlob('b*');
    const subject = Buffer.from('abcd');
    expect(glob.matches(subject, 1, 3)).toBe(true);
    expect(glob.matches(subject, 0, 3)).toBe(false);
    expect(glob.matches(subject, 2, 2)).toBe(false);
  });

  it('keeps pathological patterns fast', () => {
    const pattern = compileGlob(`${'*a'.repeat(40)}*b`);
    const subject = Buffer.alloc(20_000, 'a');
    const started = performance.now();
    expect(pattern.matches(subject)).toBe(false);
    expect(pattern.matches(Buffer.concat([subject, Buffer.from('b')]))).toBe(true);
    // The iterative matcher takes about 40 × 20,000 steps here, while naive recursion takes exponentially many.
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('glob matching against redis-server KEYS', () => {
  let redis: RedisServer;
  let session: RedisQuery;
  const alphabet = [0x61, 0x62, 0x2a, 0x3f, 0x5b, 0x5d, 0x5e, 0x2d, 0x5c, 0x30, 0xff, 0x80];
  const random = seededRandom(7);
  const pick = (length: number): Buffer =>
    Buffer.from(Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]!));
  const keys = new Map<string, Buffer>();

  beforeAll(async () => {
    redis = await startRedis();
    session = await RedisQuery.connect(redis.port);
    keys.set('', Buffer.alloc(0));
    while (keys.size < 400) {
      const key = pick(1 + Math.floor(random() * 6));
      keys.set(key.toString('latin1'), key);
    }
    await session.pipeline([...keys.values()].map((key) => ['SET', key, '1']));
  });

  afterAll(async () => {
    session?.close();
    await redis?.stop();
  });

  it('selects the same keys as KEYS for 1500 random patterns', async () => {
    const patterns: Buffer[] = [];
    while (patterns.length < 1500) {
      const pattern = pick(1 + Math.floor(random() * 7));
      // KEYS treats the one-byte pattern `*` specially, returning every key.
      if (pattern.length === 1 && pattern[0] === 0x2a) continue;
      patterns.push(pattern);
    }
    const replies = await session.pipeline(patterns.map((pattern) => ['KEYS', pattern]));
    patterns.forEach((pattern, i) => {
      const glob = compileGlob(pattern);
      const expected = (replies[i] as string[]).slice().sort();
      const actual = [...keys.keys()].filter((key) => glob.matches(Buffer.from(key, 'latin1'))).sort();
      expect({ pattern: pattern.toString('latin1'), keys: actual }).toEqual({ pattern: pattern.toString('latin1'), keys: expected });
    });
  });
});
