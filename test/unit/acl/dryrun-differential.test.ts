/**
 * Compares compiled users with redis-server 7.0.15: each rule string is set on the server with
 * ACL SETUSER, and every request's decision must equal the server's ACL DRYRUN reply. Then the
 * NOPERM lines of denied requests must equal the ones the server sends to a client logged in as
 * that user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileUser } from '../../../src/acl/compile.js';
import { nopermText } from '../../../src/acl/noperm.js';
import type { CompiledUser } from '../../../src/acl/types.js';
import { CommandTable } from '../../../src/commands/table.js';
import { RawClient } from '../../helpers/resp-client.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { dryrunText, FIXED_REQUESTS, generatedRequests, randomRuleStrings, RULE_STRINGS } from './rule-cases.js';
import { RedisQuery, type Reply } from '../../helpers/redis-query.js';

const table = CommandTable.default();
const PASSWORD = 'dryrun-secret';

/**
 * Tells whether a request is the one difference on purpose, made by key extraction
 * (src/commands/keys.ts). PFMERGE with only a destination has an empty source range, which makes
 * Redis 7.0.15 find no keys at all and skip the key check. respguard checks the destination key.
 */
function isPinnedDifference(request: readonly string[]): boolean {
  return request[0] === 'pfmerge' && request.length === 2;
}

/** Requests that are harmless to run on the test server when Redis allows them by mistake. */
const SAFE_TO_RUN = new Set(['get', 'set', 'mget', 'mset', 'publish', 'select', 'hget', 'hset', 'exists', 'copy', 'type', 'config|get', 'client|list', 'ping']);

function userName(ruleIndex: number): string {
  return `u${ruleIndex}`;
}

/** Resolves a request against the table, or returns undefined when Redis would reject it first. */
function resolved(request: readonly string[]) {
  const args = request.map((arg) => Buffer.from(arg, 'latin1'));
  const lookup = table.resolve(args);
  return lookup.kind === 'ok' ? { command: lookup.command, args } : undefined;
}

describe('ACL decisions against redis-server ACL DRYRUN', () => {
  let redis: RedisServer;
  let session: RedisQuery;
  const users: CompiledUser[] = [];
  let nopermComparisons = 0;
  const requests = [...FIXED_REQUESTS, ...generatedRequests(table, 42)].filter((request) => resolved(request));

  beforeAll(async () => {
    redis = await startRedis();
    session = await RedisQuery.connect(redis.port);
    const setups = RULE_STRINGS.map((rules, i) => ['ACL', 'SETUSER', userName(i), 'reset', ...rules.split(/\s+/), 'on', `>${PASSWORD}`]);
    const replies = await session.pipeline(setups);
    expect(replies).toEqual(RULE_STRINGS.map(() => 'OK'));
    RULE_STRINGS.forEach((rules, i) => users.push(compileUser(userName(i), `${rules} on >${PASSWORD}`, table)));
  });

  afterAll(async () => {
    session?.close();
    await redis?.stop();
  });

  it('covers hundreds of requests', () => {
    expect(requests.length).toBeGreaterThan(600);
  });

  it.each(RULE_STRINGS.map((rules, i) => [rules, i] as const))('rules %j decide as DRYRUN', async (_rules, i) => {
    const replies = await session.pipeline(requests.map((request) => ['ACL', 'DRYRUN', userName(i), ...request]));
    const mismatches: { request: string[]; expected: Reply; actual: string }[] = [];
    requests.forEach((request, j) => {
      const { command, args } = resolved(request)!;
      const actual = dryrunText(users[i]!.check(command, args), request);
      if (actual === replies[j]) return;
      if (isPinnedDifference(request)) {
        expect({ request, expected: replies[j], actual }).toEqual({ request, expected: 'OK', actual: dryrunText({ allowed: false, reason: 'key', command: 'pfmerge', argIndex: 1 }, request) });
        return;
      }
      mismatches.push({ request, expected: replies[j]!, actual });
    });
    expect(mismatches).toEqual([]);
  });

  it.each(RULE_STRINGS.map((rules, i) => [rules, i] as const))('rules %j deny with the NOPERM text', async (_rules, i) => {
    const client = await RawClient.connect(redis.port);
    try {
      expect(await client.call(['AUTH', userName(i), PASSWORD])).toBe('+OK\r\n');
      for (const request of FIXED_REQUESTS) {
        const target = resolved(request);
        if (!target || !SAFE_TO_RUN.has(target.command.name)) continue;
        const decision = users[i]!.check(target.command, target.args);
        if (decision.allowed) continue;
        nopermComparisons++;
        const reply = await client.call(request);
        expect({ request, reply }).toEqual({ request, reply: `-${nopermText(decision, userName(i))}\r\n` });
      }
    } finally {
      client.close();
    }
  });

  it('compares many NOPERM lines', () => {
    expect(nopermComparisons).toBeGreaterThan(100);
  });
});

describe('random rule strings against redis-server', () => {
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

  it('compile and decide as the server does', async () => {
    const requests = FIXED_REQUESTS.filter((request) => resolved(request));
    let compared = 0;
    for (const rules of randomRuleStrings(300, 11)) {
      const reply = await session.call(['ACL', 'SETUSER', 'random', 'reset', ...rules.split(' ')]);
      let user: CompiledUser | undefined;
      let compileError = 'OK';
      try {
        user = compileUser('random', rules, table);
      } catch (error) {
        compileError = `ERR ${(error as Error).message.replace('user "random": ', '')}`;
      }
      const serverResult = typeof reply === 'string' ? reply : `${(reply as { error: string }).error}`;
      expect({ rules, result: compileError }).toEqual({ rules, result: serverResult });
      if (!user) continue;

      const replies = await session.pipeline(requests.map((request) => ['ACL', 'DRYRUN', 'random', ...request]));
      requests.forEach((request, j) => {
        const { command, args } = resolved(request)!;
        const actual = dryrunText(user.check(command, args), request);
        expect({ rules, request, decision: actual }).toEqual({ rules, request, decision: replies[j] });
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(10_000);
  });
});

describe('ACL NOPERM texts', () => {
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

  it.each([
    ['command', 'on >pw ~* +get', ['set', 'k', 'v']],
    ['subcommand', 'on >pw ~* +client|setname', ['client', 'list']],
    ['key', 'on >pw ~a +get', ['get', 'b']],
    ['channel', 'on >pw &a +publish', ['publish', 'b', 'm']],
  ])('%s denial matches the server', async (kind, rules, request) => {
    const name = `noperm-${kind}`;
    expect(await session.call(['ACL', 'SETUSER', name, 'reset', ...rules.split(' ')])).toBe('OK');
    const user = compileUser(name, rules, table);
    const target = resolved(request)!;
    const decision = user.check(target.command, target.args);
    expect(decision.allowed).toBe(false);
    if (decision.allowed) return;

    const client = await RawClient.connect(redis.port);
    try {
      expect(await client.call(['AUTH', name, 'pw'])).toBe('+OK\r\n');
      expect(await client.call(request)).toBe(`-${nopermText(decision, name)}\r\n`);
    } finally {
      client.close();
    }
    expect(await session.call(['ACL', 'DRYRUN', name, ...request])).toBe(dryrunText(decision, request));
  });
});
