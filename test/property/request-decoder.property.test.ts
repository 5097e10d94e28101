/**
 * Property tests of the request decoder. The commands it returns never depend on how the stream
 * is cut into chunks, and any byte string either decodes or fails with a ProtocolError. A
 * multibulk request comes back as exactly the bytes that encodeCommand() makes of its arguments.
 * Run counts keep the file within a few seconds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../src/resp/encode.js';
import { DEFAULT_DECODER_LIMITS, ProtocolError, RequestDecoder } from '../../src/resp/request-decoder.js';
import { chunksOf, cuts, hostileRequestBytes, multibulkStream, requestStream } from './arbitraries.js';

/** What decoding a stream produced, in a form that compares with toEqual. */
interface Outcome {
  /** Each command as its arguments in hex, and its raw bytes in hex (null for inline). */
  commands: { args: string[]; raw: string | null }[];
  /** The error that ended decoding, as kind and reply; null when none. */
  error: { kind: string; reply: string | null } | null;
}

/** Feeds the chunks one by one and takes every command after each, as the session does. */
function decode(chunks: readonly Buffer[], authenticated = true): Outcome {
  const decoder = new RequestDecoder({ ...DEFAULT_DECODER_LIMITS });
  decoder.authenticated = authenticated;
  const commands: Outcome['commands'] = [];
  try {
    for (const chunk of chunks) {
      decoder.feed(chunk);
      for (let command = decoder.next(); command !== null; command = decoder.next()) {
        commands.push({ args: command.args.map((arg) => arg.toString('hex')), raw: command.raw?.toString('hex') ?? null });
      }
    }
  } catch (error) {
    // Anything but a ProtocolError fails the property with its own stack.
    if (!(error instanceof ProtocolError)) throw error;
    expect(() => decoder.next()).toThrow(error);
    return { commands, error: { kind: error.kind, reply: error.reply } };
  }
  return { commands, error: null };
}

describe('RequestDecoder properties', () => {
  it('decodes valid streams to their commands', () => {
    fc.assert(
      fc.property(requestStream, (requests) => {
        const stream = Buffer.concat(requests.map((request) => request.bytes));
        const expected = requests
          .filter((request) => request.args !== null)
          .map((request) => ({
            args: request.args!.map((arg) => arg.toString('hex')),
            raw: request.multibulk ? request.bytes.toString('hex') : null,
          }));
        expect(decode([stream])).toEqual({ commands: expected, error: null });
      }),
      { numRuns: 300 },
    );
  });

  it('decodes any split of a valid stream alike', () => {
    fc.assert(
      fc.property(requestStream, cuts, (requests, offsets) => {
        const stream = Buffer.concat(requests.map((request) => request.bytes));
        expect(decode(chunksOf(stream, offsets))).toEqual(decode([stream]));
      }),
      { numRuns: 300 },
    );
  });

  it('decodes a stream fed byte by byte alike', () => {
    fc.assert(
      fc.property(requestStream, (requests) => {
        const stream = Buffer.concat(requests.map((request) => request.bytes));
        const bytes = [...stream].map((byte) => Buffer.from([byte]));
        expect(decode(bytes)).toEqual(decode([stream]));
      }),
      { numRuns: 100 },
    );
  });

  it('re-encodes multibulk requests to their raw bytes', () => {
    fc.assert(
      fc.property(multibulkStream, cuts, (requests, offsets) => {
        const stream = Buffer.concat(requests.map((request) => request.bytes));
        const decoder = new RequestDecoder({ ...DEFAULT_DECODER_LIMITS });
        decoder.authenticated = true;
        const encoded: string[] = [];
        for (const chunk of chunksOf(stream, offsets)) {
          decoder.feed(chunk);
          for (let command = decoder.next(); command !== null; command = decoder.next()) {
            expect(encodeCommand(command.args).toString('hex')).toBe(command.raw!.toString('hex'));
            encoded.push(encodeCommand(command.args).toString('hex'));
          }
        }
        expect(encoded).toEqual(requests.map((request) => request.bytes.toString('hex')));
      }),
      { numRuns: 300 },
    );
  });

  it('decodes or rejects any bytes alike in any split', () => {
    fc.assert(
      fc.property(hostileRequestBytes, cuts, fc.boolean(), (bytes, offsets, authenticated) => {
        const whole = decode([bytes], authenticated);
        expect(decode(chunksOf(bytes, offsets), authenticated)).toEqual(whole);
      }),
      { numRuns: 1500 },
    );
  });
});
