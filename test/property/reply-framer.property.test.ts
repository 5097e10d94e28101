/**
 * Property tests of the reply framer. A valid RESP2 or RESP3 stream frames into its replies, byte
 * for byte, however it is cut into chunks. Any byte string either frames or fails with a
 * ReplyProtocolError, alike in every split. Run counts keep the file within a few seconds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplyFramer, ReplyProtocolError } from '../../src/resp/reply-framer.js';
import { chunksOf, cuts, hostileReplyBytes, replyStream } from './arbitraries.js';

interface Outcome {
  /** Each reply as hex, with its push flag. */
  replies: { bytes: string; push: boolean }[];
  /** The message of the error that ended framing; null when none. */
  error: string | null;
}

/** Feeds the chunks one by one and takes every reply after each, as an upstream connection does. */
function frame(chunks: readonly Buffer[]): Outcome {
  const framer = new ReplyFramer({ maxDepth: 1000, maxBulkLength: 1024 * 1024 });
  const replies: Outcome['replies'] = [];
  try {
    for (const chunk of chunks) {
      framer.feed(chunk);
      for (let reply = framer.next(); reply !== null; reply = framer.next()) replies.push({ bytes: reply.bytes.toString('hex'), push: reply.push });
    }
  } catch (error) {
    // Anything but a ReplyProtocolError fails the property with its own stack.
    if (!(error instanceof ReplyProtocolError)) throw error;
    expect(() => framer.next()).toThrow(error);
    return { replies, error: error.message };
  }
  return { replies, error: null };
}

describe('ReplyFramer properties', () => {
  it('frames valid streams into their replies', () => {
    fc.assert(
      fc.property(replyStream, (replies) => {
        const stream = Buffer.concat(replies.map((reply) => reply.bytes));
        const expected = replies.map((reply) => ({ bytes: reply.bytes.toString('hex'), push: reply.push }));
        expect(frame([stream])).toEqual({ replies: expected, error: null });
      }),
      { numRuns: 300 },
    );
  });

  it('frames any split of a valid stream alike', () => {
    fc.assert(
      fc.property(replyStream, cuts, (replies, offsets) => {
        const stream = Buffer.concat(replies.map((reply) => reply.bytes));
        expect(frame(chunksOf(stream, offsets))).toEqual(frame([stream]));
      }),
      { numRuns: 300 },
    );
  });

  it('frames a stream fed byte by byte alike', () => {
    fc.assert(
      fc.property(replyStream, (replies) => {
        const stream = Buffer.concat(replies.map((reply) => reply.bytes));
        expect(frame([...stream].map((byte) => Buffer.from([byte])))).toEqual(frame([stream]));
      }),
      { numRuns: 100 },
    );
  });

  it('frames or rejects any bytes alike in any split', () => {
    fc.assert(
      fc.property(hostileReplyBytes, cuts, (bytes, offsets) => {
        expect(frame(chunksOf(bytes, offsets))).toEqual(frame([bytes]));
      }),
      { numRuns: 1500 },
    );
  });

  it('rejects nesting deeper than maxDepth', () => {
    const deep = Buffer.from('*1\r\n'.repeat(1001) + ':1\r\n');
    expect(frame([deep])).toEqual({ replies: [], error: 'reply nesting exceeds the maximum depth of 1000' });
    expect(frame([Buffer.from('*1\r\n'.repeat(1000) + ':1\r\n')]).replies).toHaveLength(1);
  });
});
