/**
 * Micro-benchmarks of the RESP wire layer: request decoding, reply framing and encoding.
 * Run with `npx vitest bench --run bench/micro/resp.bench.ts`.
 */
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

function decodeAll(chunks: Buffer[]): number {
  const decoder = new RequestDecoder({ ...DEFAULT_DECODER_LIMITS });
  decoder.authenticated = true;
  let count = 0;
  for (const chunk of chunks) {
    decoder.feed(chunk);
    while (decoder.next() !== null) count++;
  }
  return count;
}

function frameAll(chunks: Buffer[]): number {
  const framer = new ReplyFramer({ maxDepth: 1000, maxBulkLength: 512 * 1024 * 1024 });
  let count = 0;
  for (const chunk of chunks) {
    framer.feed(chunk);
    while (framer.next() !== null) count++;
  }
  return count;
}

const setPipeline = Buffer.concat(
  Array.from({ length: 10_000 }, (_, i) => encodeCommand(['SET', `key:${i}`, 'x'.repeat(32)])),
);
const inlinePipeline = Buffer.from('SET key "quoted value" \'other\'\r\n'.repeat(10_000));
const bigSet = encodeCommand(['SET', 'big', Buffer.alloc(16 * 1024 * 1024, 0x61)]);

describe('RequestDecoder', () => {
  bench('10,000 SET commands in 16 KiB chunks', () => {
    decodeAll(chunksOf(setPipeline, 16 * 1024));
  });

  bench('10,000 inline commands in 16 KiB chunks', () => {
    decodeAll(chunksOf(inlinePipeline, 16 * 1024));
  });

  bench('16 MiB SET value in 64 KiB chunks', () => {
    decodeAll(chunksOf(bigSet, 64 * 1024));
  });
});

const replyStream = Buffer.concat(
  Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? Buffer.from('+OK\r\n') : encodeBulk('x'.repeat(32), 2))),
);
const arrayReply = Buffer.concat([
  Buffer.from('*10000\r\n'),
  ...Array.from({ length: 10_000 }, () => encodeBulk('member', 3)),
]);

describe('ReplyFramer', () => {
  bench('10,000 small replies in 16 KiB chunks', () => {
    frameAll(chunksOf(replyStream, 16 * 1024));
  });

  bench('array of 10,000 bulks in 16 KiB chunks', () => {
    frameAll(chunksOf(arrayReply, 16 * 1024));
  });
});

describe('encode', () => {
  bench('encodeCommand of SET', () => {
    encodeCommand(['SET', 'key:1', 'value']);
  });
});
