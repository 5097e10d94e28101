/**
 * fast-check arbitraries for the property tests of the request decoder and the reply framer.
 * Valid request streams come with the commands they must decode to, and valid RESP2 and RESP3
 * reply streams with the replies they must frame to. Random byte strings lean towards protocol
 * syntax, and cut points split a stream into socket chunks.
 */
import fc from 'fast-check';
import { encodeCommand } from '../../src/resp/encode.js';

/** One request of a valid stream: its bytes and the arguments it must decode to (none for an empty request). */
export interface ExpectedRequest {
  bytes: Buffer;
  args: Buffer[] | null;
  /** Whether the decoder returns the request's own bytes as `raw` (multibulk) or null (inline). */
  multibulk: boolean;
}

/** Bytes that a command name may not be, because the decoder takes them for HTTP. */
const HTTP_NAMES = new Set(['post', 'host:']);

const anyBytes = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));

/** A command name: any bytes except POST and Host:, in any case. */
const commandName = anyBytes(16).filter((name) => !HTTP_NAMES.has(name.toString('latin1').toLowerCase()));

const multibulkRequest: fc.Arbitrary<ExpectedRequest> = fc
  .tuple(commandName, fc.array(anyBytes(40), { maxLength: 6 }))
  .map(([name, rest]) => {
    const args = [name, ...rest];
    return { bytes: encodeCommand(args), args, multibulk: true };
  });

/** Unquoted inline words: no blank, no quote, and not starting with `*` (which marks multibulk). */
const plainWord = fc.stringMatching(/^[A-Za-z0-9_:.!#%&()+,\/;<=>?@\[\]^`{|}~-][A-Za-z0-9_:.!#%&()+,\/;<=>?@\[\]^`{|}~*$-]{0,11}$/);

/** A double-quoted inline argument holding any bytes, written with \xHH escapes. */
const quotedWord = anyBytes(16).map((value) => ({
  text: `"${[...value].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join('')}"`,
  value,
}));

const inlineRequest: fc.Arbitrary<ExpectedRequest> = fc
  .tuple(
    plainWord.filter((word) => !HTTP_NAMES.has(word.toLowerCase())),
    fc.array(fc.oneof(plainWord.map((word) => ({ text: word, value: Buffer.from(word, 'latin1') })), quotedWord), { maxLength: 5 }),
    fc.constantFrom(' ', '  ', '\t'),
    fc.constantFrom('\r\n', '\n'),
  )
  .map(([name, rest, blank, end]) => ({
    bytes: Buffer.from([name, ...rest.map((word) => word.text)].join(blank) + end, 'latin1'),
    args: [Buffer.from(name, 'latin1'), ...rest.map((word) => word.value)],
    multibulk: false,
  }));

/** Requests that Redis skips: counts of zero or less, and blank inline lines. */
const emptyRequest: fc.Arbitrary<ExpectedRequest> = fc
  .constantFrom('*0\r\n', '*-1\r\n', '*-5\r\n', '\r\n', '\n', '  \r\n', '\t\n')
  .map((text) => ({ bytes: Buffer.from(text, 'latin1'), args: null, multibulk: text.startsWith('*') }));

/** A valid request stream: multibulk, inline and empty requests mixed. */
export const requestStream: fc.Arbitrary<ExpectedRequest[]> = fc.array(
  fc.oneof({ arbitrary: multibulkRequest, weight: 5 }, { arbitrary: inlineRequest, weight: 3 }, { arbitrary: emptyRequest, weight: 1 }),
  { minLength: 1, maxLength: 12 },
);

/** A stream of multibulk requests only. */
export const multibulkStream: fc.Arbitrary<ExpectedRequest[]> = fc.array(multibulkRequest, { minLength: 1, maxLength: 12 });

/** Bytes that make up the protocol's syntax, so that random strings often look almost valid. */
const SYNTAX_BYTES = [...'*$\r\n0123456789-+ "\'\\xabcPING'].map((char) => char.charCodeAt(0));

/** Byte strings of three shapes: uniform random, protocol characters, and valid requests with edits. */
export const hostileRequestBytes: fc.Arbitrary<Buffer> = fc.oneof(
  anyBytes(300),
  fc.array(fc.constantFrom(...SYNTAX_BYTES), { maxLength: 300 }).map((array) => Buffer.from(array)),
  fc.tuple(requestStream, fc.array(fc.tuple(fc.nat(), fc.integer({ min: -1, max: 255 })), { minLength: 1, maxLength: 4 })).map(([requests, edits]) =>
    applyEdits(Buffer.concat(requests.map((request) => request.bytes)), edits),
  ),
);

/**
 * Applies edits to a copy of `bytes`. Each edit picks an offset (modulo the length), then deletes
 * the byte there when its byte is -1, or else inserts its byte before it.
 */
export function applyEdits(bytes: Buffer, edits: readonly (readonly [number, number])[]): Buffer {
  let result = Buffer.from(bytes);
  for (const [offset, byte] of edits) {
    const at = result.length === 0 ? 0 : offset % result.length;
    result = byte < 0
      ? Buffer.concat([result.subarray(0, at), result.subarray(at + 1)])
      : Buffer.concat([result.subarray(0, at), Buffer.from([byte]), result.subarray(at)]);
  }
  return result;
}

/** Cut points for `chunksOf`: any number of offsets, taken modulo the stream's length. */
export const cuts: fc.Arbitrary<number[]> = fc.array(fc.nat(), { maxLength: 12 });

/** Cuts `bytes` at the given offsets (modulo its length) into copies, as a socket delivers them. */
export function chunksOf(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  if (bytes.length < 2) return [Buffer.from(bytes)];
  const positions = [...new Set(offsets.map((offset) => 1 + (offset % (bytes.length - 1))))].sort((a, b) => a - b);
  const bounds = [0, ...positions, bytes.length];
  const chunks: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) chunks.push(Buffer.from(bytes.subarray(bounds[i], bounds[i + 1])));
  return chunks;
}

/** One top-level reply: its bytes and whether it is a RESP3 push. */
export interface ExpectedReply {
  bytes: Buffer;
  push: boolean;
}

const line = (type: string, text: string): Buffer => Buffer.from(`${type}${text}\r\n`, 'latin1');
const withLength = (type: string, data: Buffer): Buffer => Buffer.concat([line(type, String(data.length)), data, Buffer.from('\r\n')]);
/** Text of a simple string or error: any bytes but CR and LF. */
const lineText = fc.uint8Array({ maxLength: 20 }).map((array) => Buffer.from(array.filter((byte) => byte !== 0x0d && byte !== 0x0a)).toString('latin1'));

const scalarReply: fc.Arbitrary<Buffer> = fc.oneof(
  lineText.map((text) => line('+', text)),
  lineText.map((text) => line('-', text)),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => line(':', String(n))),
  anyBytes(40).map((data) => withLength('$', data)),
  fc.constantFrom('$-1\r\n', '*-1\r\n', '_\r\n', '#t\r\n', '#f\r\n').map((text) => Buffer.from(text)),
  fc.constantFrom('1.5', '-0.25', 'inf', '-inf', 'nan', '1e+300', '3', '.5', '-1.0000000000000001e-300').map((text) => line(',', text)),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map((n) => line('(', String(n))),
  fc.tuple(fc.constantFrom('txt', 'mkd'), anyBytes(20)).map(([format, data]) => withLength('=', Buffer.concat([Buffer.from(`${format}:`), data]))),
  anyBytes(20).map((data) => withLength('!', data)),
);

/** A reply value, nested a few levels deep (fast-check's small depth size), sometimes after an attribute. */
const { value: replyValue } = fc.letrec<{ value: Buffer; aggregate: Buffer; attribute: Buffer }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarReply, tie('aggregate')),
  aggregate: fc.oneof(
    fc.tuple(fc.constantFrom('*', '~'), fc.array(tie('value'), { maxLength: 4 })).map(([type, items]) => Buffer.concat([line(type, String(items.length)), ...items])),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((pairs) => Buffer.concat([line('%', String(pairs.length)), ...pairs.flat()])),
    fc.tuple(tie('attribute'), tie('value')).map(([attribute, value]) => Buffer.concat([attribute, value])),
  ),
  attribute: fc.array(fc.tuple(scalarReply, tie('value')), { maxLength: 2 }).map((pairs) => Buffer.concat([line('|', String(pairs.length)), ...pairs.flat()])),
}));

/** A top-level reply: any value, or a push, either one possibly after an attribute. */
const topLevelReply: fc.Arbitrary<ExpectedReply> = fc
  .tuple(
    fc.option(fc.array(fc.tuple(scalarReply, scalarReply), { maxLength: 2 }), { nil: null }),
    fc.oneof(
      replyValue.map((bytes) => ({ bytes, push: false })),
      fc.array(replyValue, { minLength: 1, maxLength: 3 }).map((items) => ({ bytes: Buffer.concat([line('>', String(items.length)), ...items]), push: true })),
    ),
  )
  .map(([attribute, reply]) => {
    if (attribute === null) return reply;
    const prefix = Buffer.concat([line('|', String(attribute.length)), ...attribute.flat()]);
    return { bytes: Buffer.concat([prefix, reply.bytes]), push: reply.push };
  });

/** A valid stream of top-level replies in RESP2 and RESP3. */
export const replyStream: fc.Arbitrary<ExpectedReply[]> = fc.array(topLevelReply, { minLength: 1, maxLength: 8 });

const REPLY_SYNTAX_BYTES = [...'+-:$*_,#(=!%~>|\r\n0123456789tf.:x'].map((char) => char.charCodeAt(0));

/** Byte strings for the framer: uniform random, reply syntax characters, and valid replies with edits. */
export const hostileReplyBytes: fc.Arbitrary<Buffer> = fc.oneof(
  anyBytes(300),
  fc.array(fc.constantFrom(...REPLY_SYNTAX_BYTES), { maxLength: 300 }).map((array) => Buffer.from(array)),
  fc.tuple(replyStream, fc.array(fc.tuple(fc.nat(), fc.integer({ min: -1, max: 255 })), { minLength: 1, maxLength: 4 })).map(([replies, edits]) =>
    applyEdits(Buffer.concat(replies.map((reply) => reply.bytes)), edits),
  ),
);
