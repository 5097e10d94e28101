/**
 * Micro-benchmarks of the RESP wire layer: request decoding and reply framing, each next to
 * redis-parser 3 on the same bytes cut into the same chunks, plus command encoding.
 * Run with `npx vitest bench --run bench/micro/resp.bench.ts`.
 *
 * redis-parser is the reference because ioredis and node-redis 3 parse with it. It builds a
 * value for every reply (here Buffers, with `returnBuffers`), while the decoder and the framer
 * only find boundaries and return views, so they are expected to be at least as fast.
 * redis-parser reads requests too, because a request is a RESP array of bulk strings.
 * Chunks are cut before timing, so each bench times the parser alone.
 */
import RedisParser from 'redis-parser';
import { bench, describe } from 'vitest';
import { encodeBulk, encodeCommand } from '../../src/resp/encode.js';
import { ReplyFramer } from '../../src/resp/reply-framer.js';
import { DEFAULT_DECODER_LIMITS, RequestDecoder } from '../../src/resp/request-decoder.js';

/** Cuts `bytes` into chunks of `size` bytes, as a socket would deliver them. */
function chunksOf(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

function decodeAll(chunks: readonly Buffer[]): number {
  const decoder = new RequestDecoder({ ...DEFAULT_DECODER_LIMITS });
  decoder.authenticated = true;
  let count = 0;
  for (const chunk of chunks) {
    decoder.feed(chunk);
    while (decoder.next() !== null) count++;
  }
  return count;
}

function frameAll(chunks: readonly Buffer[]): number {
  const framer = new ReplyFramer({ maxDepth: 1000, maxBulkLength: 512 * 1024 * 1024 });
  let count = 0;
  for (const chunk of chunks) {
    framer.feed(chunk);
    while (framer.next() !== null) count++;
  }
  return count;
}

/** Parses every chunk with redis-parser, returning Buffers as the proxy would need them. */
function parseAll(chunks: readonly Buffer[]): number {
  let count = 0;
  const parser = new RedisParser({
    returnBuffers: true,
    returnReply: () => {
      count++;
    },
    returnError: () => {
      count++;
    },
  });
  for (const chunk of chunks) parser.execute(chunk);
  return count;
}

/**
 * Registers our parser and redis-parser on the same chunks in one group, so vitest's summary
 * prints their ratio. Throws when the two disagree on the number of messages.
 */
function compareOnChunks(group: string, chunks: readonly Buffer[], ours: (chunks: readonly Buffer[]) => number, oursName: string): void {
  const expected = ours(chunks);
  const parsed = parseAll(chunks);
  if (parsed !== expected) throw new Error(`${group}: ${oursName} found ${expected} messages, redis-parser ${parsed}`);
  describe(group, () => {
    bench(oursName, () => {
      ours(chunks);
    });
    bench('redis-parser', () => {
      parseAll(chunks);
    });
  });
}

const VALUE_64 = 'v'.repeat(64);

/** Requests as redis-benchmark sends them with `-t set,get -d 64 -r 100000`: SET and GET of `key:<12 digits>`. */
const benchmarkRequests = Buffer.concat(
  Array.from({ length: 10_000 }, (_, i) => {
    const key = `key:${String(i * 7919 % 100_000).padStart(12, '0')}`;
    return i % 2 === 0 ? encodeCommand(['SET', key, VALUE_64]) : encodeCommand(['GET', key]);
  }),
);
const setRequests = Buffer.concat(
  Array.from({ length: 10_000 }, (_, i) => encodeCommand(['SET', `key:${i}`, 'x'.repeat(32)])),
);
const oneRequestPerChunk = Array.from({ length: 10_000 }, (_, i) =>
  i % 2 === 0 ? encodeCommand(['SET', `key:${i}`, VALUE_64]) : encodeCommand(['GET', `key:${i}`]),
);
/** 16 requests per chunk: what one read returns from a client pipelining at depth 16. */
const sixteenRequestsPerChunk = Array.from({ length: 625 }, (_, i) => Buffer.concat(oneRequestPerChunk.slice(i * 16, i * 16 + 16)));
const bigSet = encodeCommand(['SET', 'big', Buffer.alloc(16 * 1024 * 1024, 0x61)]);
const inlineRequests = Buffer.from('SET key "quoted value" \'other\'\r\n'.repeat(10_000));

compareOnChunks('decode 10,000 SET and GET requests in 16 KiB chunks', chunksOf(benchmarkRequests, 16 * 1024), decodeAll, 'RequestDecoder');
compareOnChunks('decode 10,000 SET requests in 16 KiB chunks', chunksOf(setRequests, 16 * 1024), decodeAll, 'RequestDecoder');
compareOnChunks('decode 10,000 requests, one per chunk', oneRequestPerChunk, decodeAll, 'RequestDecoder');
compareOnChunks('decode 10,000 requests, 16 per chunk', sixteenRequestsPerChunk, decodeAll, 'RequestDecoder');
compareOnChunks('decode a 16 MiB SET value in 64 KiB chunks', chunksOf(bigSet, 64 * 1024), decodeAll, 'RequestDecoder');

describe('decode inline requests', () => {
  const chunks = chunksOf(inlineRequests, 16 * 1024);
  bench('RequestDecoder, 10,000 inline SET requests in 16 KiB chunks', () => {
    decodeAll(chunks);
  });
});

/** Replies to the SET and GET requests above: +OK and 64-byte bulks, alternating. */
const smallReplies = Buffer.concat(
  Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? Buffer.from('+OK\r\n') : encodeBulk(VALUE_64, 2))),
);
const oneReplyPerChunk = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? Buffer.from('+OK\r\n') : encodeBulk(VALUE_64, 2)));
const arrayReply = Buffer.concat([
  Buffer.from('*10000\r\n'),
  ...Array.from({ length: 10_000 }, () => encodeBulk('member', 3)),
]);
const nestedReplies = Buffer.concat(
  Array.from({ length: 1_000 }, (_, i) =>
    Buffer.from(`*2\r\n$15\r\nstream:entry:${String(i % 100).padStart(2, '0')}\r\n*4\r\n$5\r\nfield\r\n$5\r\nvalue\r\n:${i}\r\n$-1\r\n`),
  ),
);
const bigBulk = encodeBulk(Buffer.alloc(16 * 1024 * 1024, 0x62), 2);

compareOnChunks('frame 10,000 small replies in 16 KiB chunks', chunksOf(smallReplies, 16 * 1024), frameAll, 'ReplyFramer');
compareOnChunks('frame 10,000 small replies, one per chunk', oneReplyPerChunk, frameAll, 'ReplyFramer');
compareOnChunks('frame an array of 10,000 bulks in 16 KiB chunks', chunksOf(arrayReply, 16 * 1024), frameAll, 'ReplyFramer');
compareOnChunks('frame 1,000 nested arrays in 16 KiB chunks', chunksOf(nestedReplies, 16 * 1024), frameAll, 'ReplyFramer');
compareOnChunks('frame a 16 MiB bulk in 64 KiB chunks', chunksOf(bigBulk, 64 * 1024), frameAll, 'ReplyFramer');

describe('encode', () => {
  bench('encodeCommand of SET', () => {
    encodeCommand(['SET', 'key:1', 'value']);
  });
});
