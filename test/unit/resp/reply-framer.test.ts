import { describe, expect, it } from 'vitest';
import { ReplyFramer, ReplyProtocolError, type FramedReply } from '../../../src/resp/reply-framer.js';
import { chunkings, fixedChunks } from './chunking.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function framer(maxDepth = 1000, maxBulkLength = 512 * 1024 * 1024): ReplyFramer {
  return new ReplyFramer({ maxDepth, maxBulkLength });
}

/** Feeds the chunks and collects every framed reply, calling next() after each chunk. */
function frameChunks(target: ReplyFramer, chunks: Buffer[]): FramedReply[] {
  const replies: FramedReply[] = [];
  for (const chunk of chunks) {
    target.feed(chunk);
    for (let reply = target.next(); reply !== null; reply = target.next()) replies.push(reply);
  }
  return replies;
}

function frameError(target: ReplyFramer, chunks: Buffer[]): ReplyProtocolError | null {
  try {
    frameChunks(target, chunks);
    return null;
  } catch (error) {
    if (error instanceof ReplyProtocolError) return error;
    throw error;
  }
}

interface ReplyCase {
  name: string;
  reply: string;
  push?: boolean;
}

const REPLY_CASES: ReplyCase[] = [
  { name: 'simple string', reply: '+OK\r\n' },
  { name: 'empty simple string', reply: '+\r\n' },
  { name: 'simple error', reply: '-ERR unknown command\r\n' },
  { name: 'integer', reply: ':-9223372036854775808\r\n' },
  { name: 'bulk string', reply: '$5\r\nhello\r\n' },
  { name: 'bulk string holding CRLF', reply: '$4\r\n\r\n\r\n\r\n' },
  { name: 'empty bulk string', reply: '$0\r\n\r\n' },
  { name: 'null bulk string', reply: '$-1\r\n' },
  { name: 'null array', reply: '*-1\r\n' },
  { name: 'empty array', reply: '*0\r\n' },
  { name: 'array', reply: '*3\r\n$1\r\na\r\n:1\r\n*-1\r\n' },
  { name: 'nested arrays', reply: '*2\r\n*1\r\n*0\r\n*2\r\n+a\r\n$-1\r\n' },
  { name: 'null', reply: '_\r\n' },
  { name: 'double', reply: ',3.14\r\n' },
  { name: 'double exponent', reply: ',1.0000000000000001e+300\r\n' },
  { name: 'double infinity', reply: ',-inf\r\n' },
  { name: 'double nan', reply: ',nan\r\n' },
  { name: 'boolean true', reply: '#t\r\n' },
  { name: 'boolean false', reply: '#f\r\n' },
  { name: 'big number', reply: '(3492890328409238509324850943850943825024385\r\n' },
  { name: 'verbatim string', reply: '=15\r\ntxt:Some string\r\n' },
  { name: 'blob error', reply: '!21\r\nSYNTAX invalid syntax\r\n' },
  { name: 'map', reply: '%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n*1\r\n:2\r\n' },
  { name: 'empty map', reply: '%0\r\n' },
  { name: 'set', reply: '~3\r\n+a\r\n+b\r\n+c\r\n' },
  { name: 'push', reply: '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n', push: true },
  { name: 'push nested in an array', reply: '*1\r\n>1\r\n+x\r\n' },
  {
    name: 'attribute before a reply',
    reply: '|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n',
  },
  { name: 'attribute inside an array', reply: '*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n' },
  { name: 'empty attribute', reply: '|0\r\n+OK\r\n' },
  { name: 'attributes in a row', reply: '|1\r\n+a\r\n+b\r\n|1\r\n+c\r\n+d\r\n:7\r\n' },
  { name: 'attribute before a push', reply: '|1\r\n+a\r\n+b\r\n>2\r\n+x\r\n+y\r\n', push: true },
  { name: 'attribute on a map key', reply: '%1\r\n|1\r\n+m\r\n+n\r\n+k\r\n+v\r\n' },
];

describe('ReplyFramer valid replies', () => {
  for (const testCase of REPLY_CASES) {
    it(`frames ${testCase.name} at every split`, () => {
      const input = bytes(testCase.reply);
      for (const chunking of chunkings(input)) {
        const replies = frameChunks(framer(), chunking.chunks);
        expect(replies.map((reply) => reply.bytes.toString('latin1')), chunking.name).toEqual([testCase.reply]);
        expect(replies[0]!.push, chunking.name).toBe(testCase.push ?? false);
      }
    });
  }

  it('frames a stream of every case at every split', () => {
    const input = bytes(REPLY_CASES.map((testCase) => testCase.reply).join(''));
    for (const chunking of chunkings(input, 50)) {
      const replies = frameChunks(framer(), chunking.chunks);
      expect(replies.map((reply) => reply.bytes.toString('latin1')), chunking.name).toEqual(REPLY_CASES.map((c) => c.reply));
      expect(replies.map((reply) => reply.push), chunking.name).toEqual(REPLY_CASES.map((c) => c.push ?? false));
    }
  });

  it('returns views into the fed chunk', () => {
    const chunk = bytes('+OK\r\n:1\r\n');
    const target = framer();
    target.feed(chunk);
    const second = (target.next(), target.next()!);
    expect(second.bytes.buffer).toBe(chunk.buffer);
    expect(second.bytes.byteOffset).toBe(chunk.byteOffset + 5);
  });

  it('returns null until a reply is whole', () => {
    const target = framer();
    target.feed(bytes('*2\r\n:1\r\n'));
    expect(target.next()).toBeNull();
    target.feed(bytes(':2\r\n'));
    expect(target.next()!.bytes.toString('latin1')).toBe('*2\r\n:1\r\n:2\r\n');
    expect(target.next()).toBeNull();
  });

  it('frames a 100 MB bulk reply sent in 64 KiB chunks', () => {
    const size = 100 * 1024 * 1024;
    const value = Buffer.alloc(size, 0x61);
    value[size - 1] = 0x7a;
    const head = bytes(`$${size}\r\n`);
    const input = Buffer.concat([head, value, bytes('\r\n+OK\r\n')]);

    const replies = frameChunks(framer(), fixedChunks(input, 64 * 1024));
    expect(replies).toHaveLength(2);
    expect(replies[0]!.bytes.length).toBe(head.length + size + 2);
    expect(replies[0]!.bytes.subarray(head.length, head.length + size).equals(value)).toBe(true);
    expect(replies[1]!.bytes.toString('latin1')).toBe('+OK\r\n');
  });
});

describe('ReplyFramer nesting depth', () => {
  const nested = (depth: number): Buffer => bytes(`${'*1\r\n'.repeat(depth)}:1\r\n`);

  it('frames 50,000 nested arrays with a large maxDepth', () => {
    const input = nested(50_000);
    const replies = frameChunks(framer(100_000), [input]);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.bytes.equals(input)).toBe(true);
  });

  it('rejects 50,000 nested arrays with maxDepth 1000', () => {
    const error = frameError(framer(1000), [nested(50_000)]);
    expect(error).toBeInstanceOf(ReplyProtocolError);
    expect(error!.message).toBe('reply nesting exceeds the maximum depth of 1000');
  });

  it('accepts exactly maxDepth levels', () => {
    expect(frameChunks(framer(5), [nested(5)])).toHaveLength(1);
    expect(frameError(framer(5), [nested(6)])).toBeInstanceOf(ReplyProtocolError);
  });

  it('counts attributes as nesting', () => {
    expect(frameError(framer(1), [bytes('*1\r\n|1\r\n+a\r\n+b\r\n:1\r\n')])).toBeInstanceOf(ReplyProtocolError);
  });
});

const ERROR_CASES: { input: string; message: string; maxBulkLength?: number }[] = [
  { input: 'x\r\n', message: 'invalid reply type byte 0x78' },
  { input: '+OK\rX', message: 'reply line ends with CR without LF' },
  { input: '+a\nb\r\n', message: 'simple string or error contains LF' },
  { input: ':abc\r\n', message: 'invalid integer reply' },
  { input: ':+1\r\n', message: 'invalid integer reply' },
  { input: ':01\r\n', message: 'invalid integer reply' },
  { input: ':\r\n', message: 'invalid integer reply' },
  { input: '$-2\r\n', message: 'invalid bulk length in reply' },
  { input: '$x\r\n', message: 'invalid bulk length in reply' },
  { input: '$?\r\n', message: 'invalid bulk length in reply' },
  { input: '$3\r\nabcd\r\n', message: 'bulk reply data not followed by CRLF' },
  { input: '$5\r\nabcde\r\n', message: 'bulk reply of 5 bytes exceeds the maximum of 4', maxBulkLength: 4 },
  { input: '*?\r\n', message: 'invalid aggregate length in reply' },
  { input: '%-1\r\n', message: 'invalid aggregate length in reply' },
  { input: '~-1\r\n', message: 'invalid aggregate length in reply' },
  { input: '>-1\r\n', message: 'invalid aggregate length in reply' },
  { input: '|-1\r\n', message: 'invalid aggregate length in reply' },
  { input: '*4503599627370497\r\n', message: 'invalid aggregate length in reply' },
  { input: ';4\r\nabcd\r\n', message: 'invalid reply type byte 0x3b' },
  { input: '.\r\n', message: 'invalid reply type byte 0x2e' },
  { input: '_x\r\n', message: 'null reply has content' },
  { input: '#x\r\n', message: 'invalid boolean reply' },
  { input: '#tt\r\n', message: 'invalid boolean reply' },
  { input: ',abc\r\n', message: 'invalid double reply' },
  { input: ',\r\n', message: 'invalid double reply' },
  { input: '(1.5\r\n', message: 'invalid big number reply' },
  { input: '=3\r\ntxt\r\n', message: 'verbatim string shorter than its format prefix' },
  { input: '=5\r\ntxtab\r\n', message: 'verbatim string without a format prefix' },
  { input: '*2\r\n:1\r\nZ\r\n', message: 'invalid reply type byte 0x5a' },
  { input: `:${'1'.repeat(70)}`, message: "reply line of type ':' is longer than 64 bytes" },
  { input: `+${'a'.repeat(10)}`, message: "reply line of type '+' is longer than 8 bytes", maxBulkLength: 8 },
];

describe('ReplyFramer invalid replies', () => {
  for (const testCase of ERROR_CASES) {
    it(`rejects ${JSON.stringify(testCase.input.slice(0, 30))}`, () => {
      for (const chunking of chunkings(bytes(testCase.input), 5)) {
        const error = frameError(framer(1000, testCase.maxBulkLength), chunking.chunks);
        expect(error, chunking.name).toBeInstanceOf(ReplyProtocolError);
        expect(error!.message, chunking.name).toBe(testCase.message);
      }
    });
  }

  it('throws the same error after failing', () => {
    const target = framer();
    const error = frameError(target, [bytes('+OK\r\nx\r\n')]);
    expect(error).not.toBeNull();
    expect(() => target.next()).toThrow(error!);
    expect(() => target.feed(bytes('+OK\r\n'))).toThrow(error!);
  });

  it('returns replies before an invalid one', () => {
    const target = framer();
    target.feed(bytes('+OK\r\nx\r\n'));
    expect(target.next()!.bytes.toString('latin1')).toBe('+OK\r\n');
    expect(() => target.next()).toThrow(ReplyProtocolError);
  });
});
