/**
 * Hash slots against a real cluster node: `keySlot` must give the slot that CLUSTER KEYSLOT
 * gives for the same bytes, hash tags included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc16, keySlot } from '../../../src/upstream/cluster/slots.js';
import { RedisQuery } from '../../helpers/redis-query.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';

let node: RedisServer;
let query: RedisQuery;

beforeAll(async () => {
  // CLUSTER KEYSLOT needs cluster mode enabled, but not a formed cluster.
  node = await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-slots-${process.pid}.conf`] });
  query = await RedisQuery.connect(node.port);
});

afterAll(async () => {
  query?.close();
  await node?.stop();
});

/** Keys of every shape the tag rules distinguish, plus binary and generated ones. */
function sampleKeys(): Buffer[] {
  const fixed = [
    '', 'a', 'foo', 'user:1000', '{user1000}.following', '{user1000}.followers', 'foo{}{bar}', 'foo{{bar}}zap',
    'foo{bar}{zap}', '{}', '{', '}', '}{', '{a', 'a}', '{a}', 'x{}y', '{}{a}', 'a{b}c{d}', '{{}}', '{ }', 'cache:a', '123456789',
  ].map((key) => Buffer.from(key, 'latin1'));
  const generated: Buffer[] = [];
  let seed = 12345;
  for (let i = 0; i < 500; i++) {
    const length = i % 24;
    const key = Buffer.alloc(length);
    for (let j = 0; j < length; j++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      // Braces are frequent on purpose, so that many keys exercise the tag rules.
      if (seed % 5 !== 0) key[j] = seed & 0xff;
      else key[j] = seed % 2 ? 0x7b : 0x7d;
    }
    generated.push(key);
  }
  return [...fixed, ...generated];
}

describe('key slots', () => {
  it('crc16 matches the XMODEM check value', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
  });

  it('matches CLUSTER KEYSLOT for many keys', async () => {
    const keys = sampleKeys();
    const replies = await query.pipeline(keys.map((key) => ['CLUSTER', 'KEYSLOT', key]));
    const mismatches = keys
      .map((key, i) => ({ key: key.toString('latin1'), expected: replies[i], actual: keySlot(key) }))
      .filter((entry) => entry.expected !== entry.actual);
    expect(mismatches).toEqual([]);
    expect(replies.length).toBe(keys.length);
  });

  it('hashes only the first non-empty tag', () => {
    expect(keySlot(Buffer.from('{user1000}.following'))).toBe(keySlot(Buffer.from('user1000')));
    expect(keySlot(Buffer.from('foo{bar}{zap}'))).toBe(keySlot(Buffer.from('bar')));
    expect(keySlot(Buffer.from('foo{}{bar}'))).toBe(crc16(Buffer.from('foo{}{bar}')) % 16384);
    expect(keySlot(Buffer.from('foo'))).toBe(12182);
  });
});
