/**
 * Differential test of key extraction: for generated and hand-picked requests, extractKeys must
 * return the same keys with the same flags, in the same order, as `COMMAND GETKEYSANDFLAGS` of a
 * real redis-server 7.0.15. Redis replies with an error when it finds no keys, and then
 * extractKeys must return none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractKeys, keyFlagNames } from '../../../src/commands/keys.js';
import { CommandTable } from '../../../src/commands/table.js';
import type { CommandInfo } from '../../../src/commands/types.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { isErrorReply, RedisQuery, type Reply } from '../../helpers/redis-query.js';
import { TARGETED_REQUESTS } from './key-cases.js';

/** Keys as `name flag flag`, one string per key, so that a mismatch reads well in a diff. */
type KeyList = string[];

/** Errors that COMMAND GETKEYSANDFLAGS sends for a request without keys. */
const NO_KEY_ERRORS = ['ERR The command has no key arguments', 'ERR Invalid arguments specified for command'];

/** Keywords that the getkeys procedures of Redis 7.0 look for, by command. */
const PROCEDURE_KEYWORDS: Record<string, string[]> = {
  sort: ['STORE', 'BY', 'GET', 'LIMIT'],
  sort_ro: ['STORE', 'BY'],
  migrate: ['KEYS', 'AUTH', 'AUTH2', 'COPY', 'REPLACE'],
  georadius: ['STORE', 'STOREDIST'],
  georadiusbymember: ['STORE', 'STOREDIST'],
  xread: ['STREAMS', 'BLOCK', 'COUNT', 'GROUP', 'NOACK'],
  xreadgroup: ['STREAMS', 'BLOCK', 'COUNT', 'GROUP', 'NOACK'],
  set: ['GET', 'get'],
  bitfield: ['GET', 'SET', 'INCRBY', 'OVERFLOW'],
  bitfield_ro: ['GET'],
};

/**
 * The one known difference. Redis 7.0.15 finds no keys for PFMERGE without source keys, because
 * the empty source range invalidates all specs and PFMERGE has no getkeys procedure, so its ACL
 * does not check the destination it writes. extractKeys keeps the destination on purpose.
 */
const PFMERGE_DIFFERENCE = '"pfmerge" "v1": redis [], ours ["v1 RW ACCESS INSERT"]';

const COUNT_VALUES = ['0', '1', '2', '3', '5', '-1', 'x', '2x', ' 1', '+1', '01', '4294967297'];

function nameParts(command: CommandInfo): string[] {
  return command.parent ? command.name.split('|') : [command.name];
}

/** Argument counts to try: the exact arity, or the minimum and a few more for variadic commands. */
function argumentCounts(command: CommandInfo): number[] {
  const minimum = Math.max(Math.abs(command.arity), nameParts(command).length);
  if (command.arity > 0) return [minimum];
  return [minimum, minimum + 1, minimum + 2, minimum + 3, minimum + 5];
}

/** Builds requests of plausible shape for one command: plain values, counts, and keywords at each position. */
function requestsFor(command: CommandInfo): string[][] {
  const prefix = nameParts(command);
  const keywords = new Set(PROCEDURE_KEYWORDS[command.name] ?? []);
  const countPositions = new Set<number>();
  for (const spec of command.keySpecs) {
    if (spec.beginSearch.type === 'keyword') keywords.add(spec.beginSearch.keyword);
    if (spec.beginSearch.type === 'index' && spec.findKeys.type === 'keynum') {
      countPositions.add(spec.beginSearch.index + spec.findKeys.keyNumIdx);
    }
  }

  const requests: string[][] = [];
  for (const count of argumentCounts(command)) {
    const base = [...prefix];
    for (let i = prefix.length; i < count; i++) base.push(`v${i}`);
    requests.push(base);
    for (const position of countPositions) {
      if (position >= count) continue;
      for (const value of COUNT_VALUES) requests.push(base.map((arg, i) => (i === position ? value : arg)));
    }
    for (const keyword of keywords) {
      for (let position = prefix.length; position < count; position++) {
        requests.push(base.map((arg, i) => (i === position ? keyword : arg)));
      }
    }
  }
  return requests;
}

function redisKeys(reply: Reply): KeyList {
  if (isErrorReply(reply)) {
    if (!NO_KEY_ERRORS.includes(reply.error)) throw new Error(`unexpected GETKEYSANDFLAGS error: ${reply.error}`);
    return [];
  }
  if (!Array.isArray(reply)) throw new Error(`unexpected GETKEYSANDFLAGS reply: ${JSON.stringify(reply)}`);
  return reply.map((entry) => {
    const [key, flags] = entry as [string, string[]];
    return [key, ...flags.map((flag) => flag.toUpperCase())].join(' ');
  });
}

function ourKeys(table: CommandTable, args: Buffer[]): KeyList {
  const result = table.resolve(args);
  if (result.kind !== 'ok') throw new Error(`request does not resolve: ${result.kind}`);
  return extractKeys(result.command, args).map((key) => [args[key.index]!.toString('latin1'), ...keyFlagNames(key.flags)].join(' '));
}

describe('extractKeys against COMMAND GETKEYSANDFLAGS', () => {
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

  async function compare(requests: Buffer[][]): Promise<string[]> {
    const replies = await query.pipeline(requests.map((args) => ['COMMAND', 'GETKEYSANDFLAGS', ...args]));
    const mismatches: string[] = [];
    requests.forEach((args, i) => {
      const expected = redisKeys(replies[i]!);
      const actual = ourKeys(table, args);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        const shown = args.map((arg) => JSON.stringify(arg.toString('latin1'))).join(' ');
        mismatches.push(`${shown}: redis ${JSON.stringify(expected)}, ours ${JSON.stringify(actual)}`);
      }
    });
    return mismatches;
  }

  it('agrees on generated requests for every command', async () => {
    const commands = table.all().filter((command) => command.subcommands === undefined);
    const all = commands.flatMap(requestsFor).map((args) => args.map((arg) => Buffer.from(arg, 'latin1')));
    // GETKEYSANDFLAGS needs at least one argument after the command name.
    const requests = all.filter((args) => args.length >= 2);
    const nameOnly = all.filter((args) => args.length < 2);
    expect(commands.length).toBe(351);
    expect(requests.length).toBeGreaterThan(2000);
    expect(await compare(requests)).toEqual([PFMERGE_DIFFERENCE]);
    expect(nameOnly.filter((args) => ourKeys(table, args).length > 0)).toEqual([]);
  });

  it('agrees on hand-picked requests', async () => {
    expect(TARGETED_REQUESTS.length).toBeGreaterThan(100);
    expect(await compare(TARGETED_REQUESTS.map((testCase) => testCase.args))).toEqual([]);
  });

  it('confirms the hand-picked expectations', async () => {
    const replies = await query.pipeline(TARGETED_REQUESTS.map((testCase) => ['COMMAND', 'GETKEYSANDFLAGS', ...testCase.args]));
    const mismatches: string[] = [];
    TARGETED_REQUESTS.forEach((testCase, i) => {
      const expected = testCase.keys.map((key) => {
        const [index, ...flags] = key.split(' ');
        return [testCase.args[Number(index)]!.toString('latin1'), ...flags].join(' ');
      });
      const actual = redisKeys(replies[i]!);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        mismatches.push(`${testCase.args.join(' ')}: redis ${JSON.stringify(actual)}, case ${JSON.stringify(expected)}`);
      }
    });
    expect(mismatches).toEqual([]);
  });

  it('finds keys in the generated requests', async () => {
    // Guards the comparison itself: most requests of commands with keys must have keys.
    const requests = table.all().filter((command) => command.keySpecs.length > 0).flatMap(requestsFor);
    const withKeys = requests.filter((args) => ourKeys(table, args.map((arg) => Buffer.from(arg, 'latin1'))).length > 0);
    expect(withKeys.length).toBeGreaterThan(requests.length / 2);
  });
});
