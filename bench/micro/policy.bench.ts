/**
 * Micro-benchmarks of the per-command steps between decoding and forwarding: command lookup,
 * key extraction and the ACL check, on the realistic 50-rule user of
 * bench/fixtures/realistic-policy.ts and on a `+@all ~*` user for comparison.
 * Run with `npx vitest bench --run bench/micro/policy.bench.ts`.
 *
 * Each bench runs one step over 1,000 commands (the 20-command mix of the fixture, repeated),
 * so its mean time in milliseconds reads directly as microseconds per command. The commands are
 * resolved before timing where a step needs a resolved command.
 */
import { bench, describe } from 'vitest';
import { compileUser } from '../../src/acl/compile.js';
import type { CompiledUser } from '../../src/acl/types.js';
import { extractKeys } from '../../src/commands/keys.js';
import { CommandTable } from '../../src/commands/table.js';
import type { CommandInfo } from '../../src/commands/types.js';
import { ALL_ACL, REALISTIC_ACL, REALISTIC_COMMANDS } from '../fixtures/realistic-policy.js';

const COMMANDS_PER_ITERATION = 1_000;

interface Resolved {
  readonly info: CommandInfo;
  readonly args: readonly Buffer[];
}

const table = CommandTable.default();

/** Builds the 1,000 requests of one iteration as Buffers, as the decoder would hand them over. */
function requestsOf(mix: readonly (readonly string[])[]): Buffer[][] {
  const requests: Buffer[][] = [];
  for (let i = 0; i < COMMANDS_PER_ITERATION; i++) requests.push(mix[i % mix.length]!.map((arg) => Buffer.from(arg)));
  return requests;
}

function resolveAll(requests: readonly Buffer[][]): Resolved[] {
  return requests.map((args) => {
    const lookup = table.resolve(args);
    if (lookup.kind !== 'ok') throw new Error(`${args[0]!.toString()} does not resolve: ${lookup.kind}`);
    return { info: lookup.command, args };
  });
}

function checkAll(user: CompiledUser, resolved: readonly Resolved[]): number {
  let allowed = 0;
  for (const { info, args } of resolved) if (user.check(info, args).allowed) allowed++;
  return allowed;
}

const mixed = requestsOf(REALISTIC_COMMANDS);
const mixedResolved = resolveAll(mixed);
/** Only the SET and GET that redis-benchmark sends: the hot case of the end-to-end run. */
const setGet = requestsOf([
  ['SET', 'key:000000012345', 'v'.repeat(64)],
  ['GET', 'key:000000012345'],
]);
const setGetResolved = resolveAll(setGet);
const mixedCase = requestsOf([
  ['get', 'key:1'],
  ['Set', 'key:1', 'v'],
  ['CLIENT', 'setname', 'worker-1'],
  ['xReadGroup', 'GROUP', 'g', 'c', 'COUNT', '10', 'STREAMS', 'job:events', '>'],
]);

const realistic = compileUser('app', REALISTIC_ACL, table);
const everything = compileUser('admin', ALL_ACL, table);

// The fixture's mix has 16 allowed and 4 denied commands for the realistic user. A change of the
// rules or of the checker that alters this would make the numbers below measure other paths.
const allowedOfMix = checkAll(realistic, mixedResolved);
if (allowedOfMix !== 800) throw new Error(`the realistic user allows ${allowedOfMix} of 1,000 mixed commands, expected 800`);
if (checkAll(realistic, setGetResolved) !== COMMANDS_PER_ITERATION) throw new Error('the realistic user denies a SET or GET of key:*');

describe('command lookup, 1,000 commands', () => {
  bench('resolve the realistic mix', () => {
    for (const args of mixed) table.resolve(args);
  });
  bench('resolve SET and GET', () => {
    for (const args of setGet) table.resolve(args);
  });
  bench('resolve names in mixed case, with subcommands', () => {
    for (const args of mixedCase) table.resolve(args);
  });
});

describe('key extraction, 1,000 commands', () => {
  bench('extract keys of the realistic mix', () => {
    for (const { info, args } of mixedResolved) extractKeys(info, args);
  });
  bench('extract keys of SET and GET', () => {
    for (const { info, args } of setGetResolved) extractKeys(info, args);
  });
});

describe('ACL check, 1,000 commands', () => {
  bench('50-rule user, realistic mix', () => {
    checkAll(realistic, mixedResolved);
  });
  bench('50-rule user, SET and GET', () => {
    checkAll(realistic, setGetResolved);
  });
  bench('+@all ~* user, realistic mix', () => {
    checkAll(everything, mixedResolved);
  });
  bench('+@all ~* user, SET and GET', () => {
    checkAll(everything, setGetResolved);
  });
});

describe('lookup and ACL check together, 1,000 commands', () => {
  bench('50-rule user, realistic mix', () => {
    for (const args of mixed) {
      const lookup = table.resolve(args);
      if (lookup.kind === 'ok') realistic.check(lookup.command, args);
    }
  });
  bench('+@all ~* user, realistic mix', () => {
    for (const args of mixed) {
      const lookup = table.resolve(args);
      if (lookup.kind === 'ok') everything.check(lookup.command, args);
    }
  });
});
