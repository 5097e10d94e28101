import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RedisServer } from '../../helpers/redis-server.js';
import { RedisQuery } from '../../helpers/redis-query.js';

// The modules under test are imported after this mock, so that they see the counting timingSafeEqual.
const comparisons = vi.hoisted(() => ({ count: 0 }));

vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  return {
    ...crypto,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      comparisons.count++;
      return crypto.timingSafeEqual(a, b);
    },
  };
});

const { compileUser } = await import('../../../src/acl/compile.js');
const { checkPassword, sha256 } = await import('../../../src/auth/credentials.js');
const { CommandTable } = await import('../../../src/commands/table.js');
const { startRedis } = await import('../../helpers/redis-server.js');

const table = CommandTable.default();

function passes(rules: string, password: string): boolean {
  return checkPassword(compileUser('app', rules, table), Buffer.from(password, 'utf8'));
}

describe('sha256', () => {
  it('hashes the standard test vector', () => {
    expect(sha256('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes strings as UTF-8', () => {
    expect(sha256('pässwörd')).toEqual(sha256(Buffer.from('pässwörd', 'utf8')));
    expect(sha256('').length).toBe(32);
  });
});

describe('checkPassword', () => {
  it('accepts a set password', () => {
    expect(passes('on >secret', 'secret')).toBe(true);
    expect(passes('on >secret', 'Secret')).toBe(false);
    expect(passes('on >secret', '')).toBe(false);
  });

  it('accepts every password of the user', () => {
    expect(passes('on >one >two', 'one')).toBe(true);
    expect(passes('on >one >two', 'two')).toBe(true);
    expect(passes('on >one >two <one', 'one')).toBe(false);
  });

  it('accepts a password given by hash', () => {
    expect(passes(`on #${sha256('hashed').toString('hex')}`, 'hashed')).toBe(true);
  });

  it('accepts anything with nopass', () => {
    expect(passes('on nopass', 'whatever')).toBe(true);
    expect(passes('on nopass', '')).toBe(true);
  });

  it('rejects a user without passwords', () => {
    expect(passes('on', '')).toBe(false);
    expect(passes('on >x resetpass', 'x')).toBe(false);
  });

  it('rejects a disabled user', () => {
    expect(passes('>secret', 'secret')).toBe(false);
    expect(passes('off nopass', 'x')).toBe(false);
  });

  it('compares against every stored hash', () => {
    const user = compileUser('app', 'on >one >two >three', table);
    comparisons.count = 0;
    expect(checkPassword(user, Buffer.from('one'))).toBe(true);
    expect(comparisons.count).toBe(3);
    comparisons.count = 0;
    expect(checkPassword(user, Buffer.from('none'))).toBe(false);
    expect(comparisons.count).toBe(3);
  });
});

describe('checkPassword against redis-server AUTH', () => {
  let redis: RedisServer;
  let session: RedisQuery;

  beforeAll(async () => {
    redis = await startRedis();
    session = await RedisQuery.connect(redis.port);
  });

  afterAll(async () => {
    session?.close();
    await redis?.stop();
  });

  const cases: [string, string][] = [
    ['on >secret', 'secret'],
    ['on >secret', 'other'],
    ['on >a >b', 'b'],
    ['on >a >b <a', 'a'],
    ['on nopass', 'anything'],
    ['off nopass', 'anything'],
    ['>secret', 'secret'],
    ['on', ''],
    [`on #${sha256('h').toString('hex')}`, 'h'],
    ['on >x resetpass', 'x'],
    ['on nopass >x', 'y'],
  ];

  it.each(cases)('rules %j with password %j authenticate as on the server', async (rules, password) => {
    expect(await session.call(['ACL', 'SETUSER', 'app', 'reset', ...rules.split(' ')])).toBe('OK');
    const reply = await session.call(['AUTH', 'app', password]);
    // Log back in as the default user, which has nopass, so the next case can run ACL SETUSER.
    expect(await session.call(['AUTH', 'default', 'x'])).toBe('OK');
    expect(passes(rules, password)).toBe(reply === 'OK');
  });
});
