/**
 * Compares compiled users with redis-server 7.0.15: each rule string is set on the server with
 * ACL SETUSER, and every request's decision must equal the server's ACL DRYRUN reply, except for
 * the documented cases where respguard is stricter (stricter-cases.ts). Hand-written rule strings
 * run against every command of the table. The large test below generates users and requests
 * from a seed, and ACL_DIFF_CASES and ACL_DIFF_SEED choose how many and which. Then the NOPERM lines of
 * denied requests must equal the ones the server sends to a client logged in as that user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileUser } from '../../../src/acl/compile.js';
import { nopermText } from '../../../src/acl/noperm.js';
import type { CompiledUser } from '../../../src/acl/types.js';
import { CommandTable } from '../../../src/commands/table.js';
import { RawClient } from '../../helpers/resp-client.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { getUserReply } from '../../../src/acl/acl-replies.js';
import { AclUser } from '../../../src/acl/user.js';
import { decode, dryrunText, FIXED_REQUESTS, generatedRequests, normalizeGetUser, RULE_STRINGS } from './rule-cases.js';
import { randomRequest, randomRules, requestSource } from './random-policy.js';
import { stricterCase } from './stricter-cases.js';
import { errorText, RedisQuery, type Reply } from '../../helpers/redis-query.js';

const table = CommandTable.default();
const PASSWORD = 'dryrun-secret';

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
      const decision = users[i]!.check(command, args);
      const actual = dryrunText(decision, request);
      if (actual === replies[j] || stricterCase(command, args, decision, replies[j]) !== undefined) return;
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

/** Number of cases of the large differential test in CI. ACL_DIFF_CASES sets another number. */
const CI_CASES = 6000;
/** The seed of CI runs, so that every run compares the same cases. */
const CI_SEED = 20240607;
/** Requests compared for each generated user. */
const REQUESTS_PER_USER = 20;

/** Reads ACL_DIFF_CASES and ACL_DIFF_SEED. A longer run without a seed gets a random one. */
function largeRunSettings(): { cases: number; seed: number } {
  const cases = process.env.ACL_DIFF_CASES ? Number(process.env.ACL_DIFF_CASES) : CI_CASES;
  if (!Number.isSafeInteger(cases) || cases < 1) throw new Error(`ACL_DIFF_CASES must be a positive integer, got ${process.env.ACL_DIFF_CASES}`);
  let seed = CI_SEED;
  if (process.env.ACL_DIFF_SEED) seed = Number(process.env.ACL_DIFF_SEED);
  else if (process.env.ACL_DIFF_CASES) seed = Math.floor(Math.random() * 2 ** 31);
  if (!Number.isSafeInteger(seed)) throw new Error(`ACL_DIFF_SEED must be an integer, got ${process.env.ACL_DIFF_SEED}`);
  return { cases, seed };
}

/** Compiles a user and returns it with the result as the server would word it: 'OK' or the error. */
function compileResult(name: string, rules: string): { user?: CompiledUser; result: string } {
  try {
    return { user: compileUser(name, rules, table), result: 'OK' };
  } catch (error) {
    return { result: `ERR ${(error as Error).message.replace(`user "${name}": `, '')}` };
  }
}

/** One compared request, kept for the failure report. */
interface Difference {
  rules: string;
  request: string[];
  server: Reply;
  respguard: string;
}

describe('generated users and requests against redis-server', () => {
  const { cases, seed } = largeRunSettings();
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

  /** Compares ACL GETUSER of each user with respguard's description; returns the number of users compared. */
  async function compareDescriptions(
    requests: readonly { rules: string; name: string; user: CompiledUser }[],
    descriptions: { rules: string; server: string; respguard: string }[],
  ): Promise<number> {
    const users = [...new Map(requests.map((entry) => [entry.name, entry])).values()];
    const replies = await session.pipeline(users.map(({ name }) => ['ACL', 'GETUSER', name]));
    users.forEach(({ rules, user }, i) => {
      const server = normalizeGetUser(JSON.stringify(replies[i]));
      const respguard = normalizeGetUser(JSON.stringify(decode(getUserReply(user as AclUser, 2).toString('latin1'))));
      if (server !== respguard) descriptions.push({ rules, server, respguard });
    });
    return users.length;
  }

  it(`decide as DRYRUN on ${cases} cases`, { timeout: 60_000 + cases * 5 }, async () => {
    const random = seededRandom(seed);
    const source = requestSource(table);
    const replay = `replay with ACL_DIFF_SEED=${seed} ACL_DIFF_CASES=${cases}`;
    if (process.env.ACL_DIFF_CASES) console.log(`ACL differential test: ${cases} cases from seed ${seed}`);

    const differences: Difference[] = [];
    const ruleErrors: { rules: string; server: Reply; respguard: string }[] = [];
    const descriptions: { rules: string; server: string; respguard: string }[] = [];
    let described = 0;
    const stricter = new Map<string, number>();
    let compared = 0;
    let allowed = 0;
    let invalidRules = 0;
    for (let batch = 0; compared < cases; batch++) {
      const needed = Math.ceil((cases - compared) / REQUESTS_PER_USER);
      const rulesList = Array.from({ length: needed }, () => randomRules(random));
      const names = rulesList.map((_, i) => `g${batch}_${i}`);
      const setups = await session.pipeline(rulesList.map((rules, i) => ['ACL', 'SETUSER', names[i]!, 'reset', ...rules.split(' ')]));

      const requests: { rules: string; name: string; user: CompiledUser; request: string[] }[] = [];
      rulesList.forEach((rules, i) => {
        // The server user starts with reset, which also sets the sanitize-payload flag.
        const compiled = compileResult(names[i]!, `reset ${rules}`);
        // respguard hides the password of a failing '<password' rule; the server quotes it.
        const serverError = errorText(setups[i]!)?.replace(/modifier '<[^']*'/, "modifier '<***'");
        const server = serverError ?? setups[i]!;
        if (compiled.result !== server) ruleErrors.push({ rules, server, respguard: compiled.result });
        if (!compiled.user || server !== 'OK') {
          invalidRules++;
          return;
        }
        for (let j = 0; j < REQUESTS_PER_USER && compared + requests.length < cases; j++) {
          requests.push({ rules, name: names[i]!, user: compiled.user, request: randomRequest(random, source) });
        }
      });
      const replies = await session.pipeline(requests.map(({ name, request }) => ['ACL', 'DRYRUN', name, ...request]));
      if (batch === 0) described += await compareDescriptions(requests, descriptions);

      requests.forEach(({ rules, user, request }, j) => {
        const args = request.map((arg) => Buffer.from(arg, 'latin1'));
        const lookup = table.resolve(args);
        const server = replies[j]!;
        if (lookup.kind !== 'ok') {
          if (errorText(server) === undefined) differences.push({ rules, request, server, respguard: `lookup failed: ${lookup.kind}` });
          return;
        }
        const decision = user.check(lookup.command, args);
        const respguard = dryrunText(decision, request);
        compared++;
        if (decision.allowed) allowed++;
        if (respguard === server) return;
        const known = stricterCase(lookup.command, args, decision, server);
        if (known === undefined) differences.push({ rules, request, server, respguard });
        else stricter.set(known, (stricter.get(known) ?? 0) + 1);
      });
    }

    expect(ruleErrors.slice(0, 20), `rule strings compile differently (${replay})`).toEqual([]);
    expect(differences.slice(0, 20), `${differences.length} decisions differ from ACL DRYRUN (${replay})`).toEqual([]);
    expect(descriptions.slice(0, 5), `users are described differently from ACL GETUSER (${replay})`).toEqual([]);
    expect(described).toBeGreaterThan(100);
    expect(compared).toBeGreaterThanOrEqual(cases);
    // Guards the generator: a useful run has many allowed and many denied requests, some
    // rejected rule strings and some stricter cases.
    expect(allowed / compared, replay).toBeGreaterThan(0.15);
    expect(allowed / compared, replay).toBeLessThan(0.85);
    expect(invalidRules, replay).toBeGreaterThan(0);
    if (cases >= CI_CASES) {
      expect(stricter.get('script'), replay).toBeGreaterThan(0);
      expect(stricter.get('sort-pattern'), replay).toBeGreaterThan(0);
    }
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
