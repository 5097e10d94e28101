/**
 * Pins every case where respguard denies a request that redis-server 7.0.15's ACL DRYRUN
 * allows: keys that the command touches but Redis 7.0's key specs miss, SORT patterns from users
 * who may not read every key, and scripts from restricted users. Each case also sends ACL DRYRUN
 * to the real server and expects OK, so a server that starts to deny the request fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileUser, type CompileOptions } from '../../../src/acl/compile.js';
import { dryrunDenialText, nopermText } from '../../../src/acl/noperm.js';
import type { Decision } from '../../../src/acl/types.js';
import { CommandTable } from '../../../src/commands/table.js';
import { RedisQuery } from '../../helpers/redis-query.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { RawClient } from '../../helpers/resp-client.js';

const table = CommandTable.default();
const PASSWORD = 'pw';

function decide(rules: string, request: string[], options: CompileOptions = {}): Decision {
  const args = request.map((arg) => Buffer.from(arg, 'latin1'));
  const lookup = table.resolve(args);
  if (lookup.kind !== 'ok') throw new Error(`request ${request.join(' ')} does not resolve: ${lookup.kind}`);
  return compileUser('u', rules, table, options).check(lookup.command, args);
}

const words = (text: string): string[] => text.split(' ');

describe('stricter checks against redis-server', () => {
  let redis: RedisServer;
  let query: RedisQuery;
  let users = 0;

  beforeAll(async () => {
    redis = await startRedis();
    query = await RedisQuery.connect(redis.port);
  });

  afterAll(async () => {
    query?.close();
    await redis?.stop();
  });

  /** Creates a server user with `rules` and returns its name. */
  async function serverUser(rules: string): Promise<string> {
    const name = `user${users++}`;
    expect(await query.call(['ACL', 'SETUSER', name, 'reset', 'on', `>${PASSWORD}`, ...words(rules)])).toBe('OK');
    return name;
  }

  async function dryrun(rules: string, request: string[]): Promise<unknown> {
    return query.call(['ACL', 'DRYRUN', await serverUser(rules), ...request]);
  }

  describe('touched keys', () => {
    it.each([
      ['~src ~a +georadius', 'georadius src 1 2 3 km store a store b', 9],
      ['~src ~a ~b +georadius', 'georadius src 1 2 3 km storedist a store b storedist c', 11],
      ['~src ~a +georadiusbymember', 'georadiusbymember src m 3 km store a store b', 8],
      ['~k ~by +sort', 'sort k store by store b', 5],
      ['~k ~get +sort', 'sort k store get store b', 5],
      ['~streams +xreadgroup', 'xreadgroup noack group g streams streams a >', 6],
      ['~streams +xreadgroup', 'xreadgroup count 1 group g streams streams a >', 7],
    ])('%s denies %s', async (rules, request, argIndex) => {
      expect(await dryrun(rules, words(request))).toBe('OK');
      const command = words(request)[0];
      expect(decide(rules, words(request))).toEqual({ allowed: false, reason: 'key', command, argIndex, selector: 0, stricter: true });
    });

    it('allows through the selector that permits the touched keys', async () => {
      const rules = '~src ~a +georadius (~src ~b +georadius)';
      const request = words('georadius src 1 2 3 km store a store b');
      expect(await dryrun(rules, request)).toBe('OK');
      expect(decide(rules, request)).toEqual({ allowed: true });
    });

    it('keeps the server denial of a key it checks', async () => {
      const rules = '~a +xreadgroup';
      const request = words('xreadgroup noack group g streams streams a >');
      expect(await dryrun(rules, request)).toBe("This user has no permissions to access the 'streams' key");
      expect(decide(rules, request)).toEqual({ allowed: false, reason: 'key', command: 'xreadgroup', argIndex: 5, selector: 0 });
    });

    it('names the touched key in the DRYRUN text', () => {
      const request = words('georadius src 1 2 3 km store a store b');
      const decision = decide('~src ~a +georadius', request);
      expect(decision.allowed).toBe(false);
      if (decision.allowed) return;
      const args = request.map((arg) => Buffer.from(arg));
      expect(dryrunDenialText(decision, args).toString()).toBe("This user has no permissions to access the 'b' key");
      expect(nopermText(decision, 'u')).toBe('NOPERM this user has no permissions to access one of the keys used as arguments');
    });
  });

  describe('SORT patterns', () => {
    /** Runs the request as a user with `rules` on the server and returns the raw reply. */
    async function runAs(rules: string, request: string[]): Promise<string> {
      const name = await serverUser(rules);
      const client = await RawClient.connect(redis.port);
      try {
        expect(await client.call(['AUTH', name, PASSWORD])).toBe('+OK\r\n');
        return await client.call(request);
      } finally {
        client.close();
      }
    }

    it.each([
      ['~k +sort', 'sort k by w_*', 3, 'BY'],
      ['~k +sort', 'sort k get #', 3, 'GET'],
      ['~k +sort_ro', 'sort_ro k get g_*', 3, 'GET'],
      ['~k +sort', 'sort k by w get # by x_*', 5, 'GET'],
      ['~k +sort (%R~* +get)', 'sort k by w_*', 3, 'BY'],
      ['~k %W~* +sort', 'sort k by w_*', 3, 'BY'],
    ] as const)('%s denies %s with the server error', async (rules, request, argIndex, sortOption) => {
      expect(await dryrun(rules, words(request))).toBe('OK');
      const decision = decide(rules, words(request));
      expect(decision).toEqual({ allowed: false, reason: 'sort-pattern', command: words(request)[0], argIndex, stricter: true, sortOption });
      if (decision.allowed) return;
      expect(await runAs(rules, words(request))).toBe(`-${nopermText(decision, 'u')}\r\n`);
    });

    it.each([
      ['~k +sort', 'sort k by w'],
      ['~k +sort', 'sort k limit 0 1 alpha'],
      ['%R~* ~k +sort', 'sort k by w_* get #'],
      ['allkeys +sort', 'sort k by w_* get #'],
      ['+sort (~* +sort)', 'sort k get #'],
      ['~k +sort', 'sort k limit 0 x get #'],
    ])('%s allows %s', async (rules, request) => {
      expect(decide(rules, words(request))).toEqual({ allowed: true });
      expect(await runAs(rules, words(request))).not.toMatch(/denied due to insufficient ACL permissions/);
    });
  });

  describe('scripts and functions', () => {
    it.each([
      ['~k* +@scripting', 'eval s 1 k1'],
      ['~k* +@scripting', 'evalsha 0123 0'],
      ['~k* +@scripting', 'eval_ro s 0'],
      ['~k* +@scripting', 'evalsha_ro 0123 1 k1'],
      ['~k* +@scripting', 'fcall f 1 k1'],
      ['~k* +@scripting', 'fcall_ro f 0'],
      ['~k* +@scripting', 'function load code'],
      ['~k* +@scripting', 'function delete lib'],
      ['~k* +@scripting', 'function restore payload'],
      ['~k* +@scripting', 'function flush'],
      ['~* &* +@all -flushall', 'eval s 0'],
      ['~* +@all', 'eval s 0'],
      ['&* +@all', 'eval s 0'],
    ])('%s denies %s', async (rules, request) => {
      expect(await dryrun(rules, words(request))).toBe('OK');
      const decision = decide(rules, words(request));
      const [name, subcommand] = words(request);
      const command = name === 'function' ? `function|${subcommand}` : name;
      expect(decision).toEqual({ allowed: false, reason: 'script', command, stricter: true });
    });

    it.each([
      ['~* &* +@all', 'eval s 0', {}],
      ['allkeys allchannels allcommands', 'fcall f 1 k', {}],
      ['~k* +@scripting (~* &* +@all)', 'eval s 1 k1', {}],
      ['~k* +@scripting', 'eval s 1 k1', { allowScripts: true }],
      ['~k* +@scripting', 'function load code', { allowScripts: true }],
      ['~k* +@scripting', 'function delete lib', { allowScripts: true }],
      ['~k* +@scripting', 'function list', {}],
      ['~k* +@scripting', 'script load code', {}],
    ] as const)('%s allows %s', (rules, request, options) => {
      expect(decide(rules, words(request), options)).toEqual({ allowed: true });
    });

    it('reports the key denial before the script policy', async () => {
      const request = words('eval s 1 other');
      expect(await dryrun('~k* +@scripting', request)).toBe("This user has no permissions to access the 'other' key");
      expect(decide('~k* +@scripting', request)).toEqual({ allowed: false, reason: 'key', command: 'eval', argIndex: 3, selector: 0 });
    });

    it('explains the denial', () => {
      const decision = decide('~k* +@scripting', words('eval s 0'));
      expect(decision.allowed).toBe(false);
      if (decision.allowed) return;
      expect(nopermText(decision, 'u')).toBe(
        "NOPERM this user has no permissions to run the 'eval' command, because scripts and functions run with " +
          "respguard's upstream rights, beyond this user's ACL rules and respguard's blockCommands. " +
          'Set allowScripts: true for the user in the respguard config to allow them',
      );
      expect(dryrunDenialText(decision, []).toString()).toBe(
        "This user has no permissions to run the 'eval' command, because scripts and functions run with " +
          "respguard's upstream rights, beyond this user's ACL rules and respguard's blockCommands. " +
          'Set allowScripts: true for the user in the respguard config to allow them',
      );
    });
  });
});
