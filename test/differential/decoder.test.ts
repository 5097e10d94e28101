/**
 * Differential test of the request path: the same random and mutated request streams go to a
 * redis-server directly and through respguard to a second redis-server, and the replies, the
 * end of the connection and the data left behind must match. This shows that no request can
 * run through respguard in a form other than the one Redis would run, which is what keeps a
 * command from slipping past the policy check.
 *
 * respguard replies to AUTH itself and requires it, so the proxy side authenticates first and the
 * rest is compared. The known divergences are allowed by name (see outcome.ts) and each one is
 * pinned by its own test below. RESPGUARD_HEAVY=1 runs 5000 streams instead of 300.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { collectReplies, compareOutcomes, readData, type Divergence, type Outcome } from './outcome.js';
import { differentialStream } from './streams.js';

const HEAVY = process.env.RESPGUARD_HEAVY === '1';
const STREAMS = HEAVY ? 5000 : 300;
const SEED = 20_261_204;
/** Time without a reply after which a connection counts as waiting for more input, in ms. */
const QUIET_MS = 60;
/** Extra time given to both sides before a difference counts, for a slow moment on a busy machine. */
const RECHECK_MS = 1000;

let direct: RedisServer;
let behind: RedisServer;
let proxy: TestProxy;
let directAdmin: RawClient;
let behindAdmin: RawClient;

beforeAll(async () => {
  [direct, behind] = await Promise.all([startRedis(), startRedis()]);
  proxy = await startProxy(behind, { users: { app: 'on >app-pass ~* &* +@all' }, extraYaml: 'blockCommands: []\n' });
  [directAdmin, behindAdmin] = await Promise.all([RawClient.connect(direct.port), RawClient.connect(behind.port)]);
});

afterAll(async () => {
  directAdmin?.close();
  behindAdmin?.close();
  await proxy?.stop();
  await Promise.all([direct?.stop(), behind?.stop()]);
});

/** Opens a connection for one stream: straight to Redis, or to respguard and logged in. */
async function open(side: 'redis' | 'proxy'): Promise<RawClient> {
  if (side === 'redis') return RawClient.connect(direct.port);
  const client = await RawClient.connect(proxy.port);
  expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
  return client;
}

/**
 * Sends `stream` on both sides and compares the outcomes. Before a difference counts, both
 * sides get RECHECK_MS more, for a slow moment on a busy machine. Deletes the data afterwards.
 */
async function runStream(stream: Buffer): Promise<{ redis: Outcome; proxy: Outcome; divergences: Divergence[] | null }> {
  const [redisClient, proxyClient] = await Promise.all([open('redis'), open('proxy')]);
  redisClient.send(stream);
  proxyClient.send(stream);
  const redisReplies: string[] = [];
  const proxyReplies: string[] = [];
  const collect = async (ends: ('closed' | 'open')[] | null, quietMs: number): Promise<('closed' | 'open')[]> =>
    Promise.all([
      ends?.[0] === 'closed' ? 'closed' : collectReplies(redisClient, redisReplies, quietMs),
      ends?.[1] === 'closed' ? 'closed' : collectReplies(proxyClient, proxyReplies, quietMs),
    ]);
  const compare = async (ends: ('closed' | 'open')[]) => {
    const redis: Outcome = { replies: redisReplies, end: ends[0]!, data: await readData(directAdmin) };
    const proxied: Outcome = { replies: proxyReplies, end: ends[1]!, data: await readData(behindAdmin) };
    return { redis, proxy: proxied, divergences: compareOutcomes(stream, redis, proxied) };
  };

  const ends = await collect(null, QUIET_MS);
  let result = await compare(ends);
  if (result.divergences === null) result = await compare(await collect(ends, RECHECK_MS));
  redisClient.close();
  proxyClient.close();
  expect(await directAdmin.call(['FLUSHALL'])).toBe('+OK\r\n');
  expect(await behindAdmin.call(['FLUSHALL'])).toBe('+OK\r\n');
  return result;
}

/** Describes an unexplained difference so that the stream can be replayed by hand. */
function describeDifference(index: number, stream: Buffer, redis: Outcome, proxy: Outcome): string {
  return JSON.stringify({ stream: index, bytes: stream.toString('latin1'), redis, proxy }, null, 1);
}

describe('request decoder against redis-server', () => {
  it(`runs ${STREAMS} random streams as Redis does`, async () => {
    const counts = new Map<string, number>();
    const unexplained: string[] = [];
    for (let index = 0; index < STREAMS; index++) {
      const { bytes } = differentialStream(SEED, index);
      const { redis, proxy: viaProxy, divergences } = await runStream(bytes);
      if (divergences === null) {
        unexplained.push(describeDifference(index, bytes, redis, viaProxy));
        continue;
      }
      const label = divergences.length === 0 ? 'same' : divergences.join('+');
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    // The heavy run prints how often each outcome came up, for docs/RELIABILITY.md.
    if (HEAVY) console.info(`differential outcomes of ${STREAMS} streams: ${JSON.stringify(Object.fromEntries(counts))}`);
    expect(unexplained).toEqual([]);
    // Most streams must behave identically, or the generator has stopped testing anything.
    expect(counts.get('same') ?? 0).toBeGreaterThan(STREAMS / 2);
  }, HEAVY ? 900_000 : 120_000);
});

describe('known divergences from redis-server', () => {
  it('rejects a length line without LF that Redis runs', async () => {
    const { redis, proxy: viaProxy, divergences } = await runStream(Buffer.from('*3\r\n$5\r\nRPUSH\r\n$4\rXpin1\r\n$1\r\na\r\n', 'latin1'));
    expect(redis.replies).toEqual([':1\r\n']);
    expect(viaProxy.replies).toEqual(['-ERR Protocol error: missing LF after CR\r\n']);
    expect(viaProxy.end).toBe('closed');
    expect(viaProxy.data).toEqual([]);
    expect(divergences).toEqual(['crlf']);
  });

  it('rejects bulk data without CRLF that Redis runs', async () => {
    const { redis, proxy: viaProxy, divergences } = await runStream(Buffer.from('*3\r\n$5\r\nRPUSH\r\n$4\r\npin2\r\n$1\r\naXY', 'latin1'));
    expect(redis.replies).toEqual([':1\r\n']);
    expect(viaProxy.replies).toEqual(['-ERR Protocol error: missing CRLF after bulk data\r\n']);
    expect(divergences).toEqual(['crlf']);
  });

  it('rejects a count above maxMultibulkLength that Redis awaits', async () => {
    const { redis, proxy: viaProxy, divergences } = await runStream(Buffer.from('*1048577\r\n$4\r\nPING\r\n', 'latin1'));
    expect(redis).toEqual({ replies: [], end: 'open', data: [] });
    expect(viaProxy).toEqual({ replies: ['-ERR Protocol error: invalid multibulk length\r\n'], end: 'closed', data: [] });
    expect(divergences).toEqual(['huge-count']);
  });

  // NOTE: Redis 7.0 finds line ends with strchr() (processInlineBuffer() and
  // processMultibulkBuffer() in src/networking.c), so a NUL byte hides the LF or CR after it and
  // Redis waits for more input forever. respguard reads the line: it runs a valid inline line,
  // forwarding the arguments it checked, so nothing unchecked runs, but something runs where
  // Redis would run nothing. An invalid line is rejected where Redis waits.
  it('runs an inline line with NUL that Redis never runs', async () => {
    const { redis, proxy: viaProxy, divergences } = await runStream(Buffer.from('RPUSH pin3 a\x00b\r\nRPUSH pin3 c\r\n', 'latin1'));
    expect(redis).toEqual({ replies: [], end: 'open', data: [] });
    expect(viaProxy.replies).toEqual([':1\r\n', ':2\r\n']);
    expect(viaProxy.data).toEqual([{ key: 'pin3', items: ['a\x00b', 'c'] }]);
    expect(divergences).toEqual(['nul-line']);
  });

  it('rejects a length line with NUL that Redis awaits', async () => {
    const { redis, proxy: viaProxy, divergences } = await runStream(Buffer.from('*1\r\n$4\x00\r\nPING\r\n', 'latin1'));
    expect(redis).toEqual({ replies: [], end: 'open', data: [] });
    expect(viaProxy).toEqual({ replies: ['-ERR Protocol error: invalid bulk length\r\n'], end: 'closed', data: [] });
    expect(divergences).toEqual(['nul-line']);
  });

  it('quotes a non-ASCII command name byte for byte', async () => {
    const { redis, proxy: viaProxy, divergences } = await runStream(Buffer.from('\xe9CHO x\r\n', 'latin1'));
    expect(redis.replies).toEqual(["-ERR unknown command '\xe9CHO', with args beginning with: 'x' \r\n"]);
    expect(viaProxy.replies).toEqual(["-ERR unknown command '\xe9CHO', with args beginning with: \r\n"]);
    expect(divergences).toEqual([]);
  });

  it('leaves the arguments out of unknown-command errors', async () => {
    const { redis, proxy: viaProxy, divergences } = await runStream(Buffer.from('NOSUCH secret-value\r\n', 'latin1'));
    expect(redis.replies).toEqual(["-ERR unknown command 'NOSUCH', with args beginning with: 'secret-value' \r\n"]);
    expect(viaProxy.replies).toEqual(["-ERR unknown command 'NOSUCH', with args beginning with: \r\n"]);
    expect(divergences).toEqual([]);
  });
});
