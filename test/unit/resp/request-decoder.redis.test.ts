/**
 * Differential tests: the request decoder must reject input with the error text that a real
 * redis-server 7.0.15 sends, and split inline lines into the arguments that Redis gets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { RawClient } from '../../helpers/resp-client.js';
import { splitInlineArgs } from '../../../src/resp/inline.js';
import { decodeReply } from '../../../src/resp/reply-framer.js';
import { DEFAULT_DECODER_LIMITS, ProtocolError, RequestDecoder } from '../../../src/resp/request-decoder.js';
import { ERROR_CASES, STRICTER_CASES, type ErrorCase } from './decoder-cases.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

let open: RedisServer;
let protectedServer: RedisServer;

beforeAll(async () => {
  [open, protectedServer] = await Promise.all([startRedis(), startRedis({ password: 'secret' })]);
});

afterAll(async () => {
  await Promise.all([open?.stop(), protectedServer?.stop()]);
});

/** Sends raw input on a new connection and returns the first reply, 'CLOSED' or 'TIMEOUT'. */
async function redisReplyTo(input: string, authenticated: boolean, timeoutMs = 3000): Promise<string> {
  const client = await RawClient.connect(authenticated ? open.port : protectedServer.port);
  try {
    client.send(input);
    return await client.reply(timeoutMs);
  } finally {
    client.close();
  }
}

/** Returns what the session would send for the case: the error reply, or 'CLOSED' for none. */
function respguardReplyTo(testCase: ErrorCase): string {
  const decoder = new RequestDecoder({ ...DEFAULT_DECODER_LIMITS });
  decoder.authenticated = testCase.authenticated ?? true;
  try {
    decoder.feed(bytes(testCase.input));
    while (decoder.next() !== null);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return error.reply === null ? 'CLOSED' : `-${error.reply}\r\n`;
  }
  return 'no error';
}

const label = (input: string): string => JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}...` : input);

describe('RequestDecoder against redis-server', () => {
  for (const testCase of ERROR_CASES) {
    it(`matches Redis for ${label(testCase.input)}`, async () => {
      const expected = await redisReplyTo(testCase.input, testCase.authenticated ?? true);
      expect(respguardReplyTo(testCase)).toBe(expected);
    });
  }

  it('matches the closed connection after an error', async () => {
    const client = await RawClient.connect(open.port);
    client.send('*1\r\n$x\r\nPING\r\n');
    expect(await client.reply()).toBe('-ERR Protocol error: invalid bulk length\r\n');
    expect(await client.waitClosed()).toBe(true);
  });
});

describe('RequestDecoder stricter than redis-server', () => {
  for (const testCase of STRICTER_CASES.filter((c) => c.redisReply !== undefined)) {
    it(`rejects ${label(testCase.input)} that Redis accepts`, async () => {
      const timeoutMs = testCase.redisReply === 'TIMEOUT' ? 300 : 3000;
      expect(await redisReplyTo(testCase.input, testCase.authenticated ?? true, timeoutMs)).toBe(testCase.redisReply);
      expect(respguardReplyTo(testCase)).toBe(`-${testCase.reply}\r\n`);
    });
  }
});

/** Inline argument text after `RPUSH <key> `, as sent on the wire (latin1). */
const INLINE_FRAGMENTS = [
  'a b c',
  '  lead  trail  ',
  'a\tb',
  '"a b" c',
  '"\\x41\\x4a\\x7a"',
  '"\\xff\\x00"',
  '"\\xZZ" "\\x4" "\\x4g"',
  '"\\n\\r\\t\\b\\a\\q\\\\\\""',
  "'a\\'b'",
  "'a\\nb' 'c\\\\d'",
  'a"b c"',
  "a'b c'",
  '\x0bx y\x0cz',
  'x\x0by',
  '"a"\x0bb',
  '"" \'\'',
  '"a" "b"',
  '\xe9 \xfc',
  'a\\x41',
  'a"b c"d',
  '"a\\"',
  '"abc',
  "'abc",
  '"a"b',
  "'a'b",
  '\\"a',
];

describe('splitInlineArgs against redis-server', () => {
  INLINE_FRAGMENTS.forEach((fragment, index) => {
    it(`splits ${JSON.stringify(fragment)} like Redis`, async () => {
      const key = `inline:${index}`;
      const line = `RPUSH ${key} ${fragment}`;
      const client = await RawClient.connect(open.port);
      try {
        client.send(`${line}\r\n`);
        const pushed = await client.reply();
        const split = splitInlineArgs(bytes(line));
        if (pushed.startsWith('-')) {
          expect(pushed).toBe('-ERR Protocol error: unbalanced quotes in request\r\n');
          expect(split).toBeNull();
          return;
        }
        const stored = decodeReply(bytes(await client.call(['LRANGE', key, '0', '-1']))) as Buffer[];
        expect(split).not.toBeNull();
        expect(split!.slice(2).map((arg) => arg.toString('latin1'))).toEqual(stored.map((arg) => arg.toString('latin1')));
      } finally {
        client.close();
      }
    });
  });
});
