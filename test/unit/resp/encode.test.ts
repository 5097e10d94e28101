import { describe, expect, it } from 'vitest';
import {
  EMPTY_ARRAY,
  OK,
  PONG,
  QUEUED,
  RESET_REPLY,
  encodeArray,
  encodeBulk,
  encodeCommand,
  encodeError,
  encodeQuotingError,
  encodeInteger,
  encodeMap,
  encodeNullArray,
  encodeSimple,
} from '../../../src/resp/encode.js';

const text = (buffer: Buffer): string => buffer.toString('latin1');

describe('encode prebuilt replies', () => {
  it('holds the exact bytes', () => {
    expect(text(OK)).toBe('+OK\r\n');
    expect(text(PONG)).toBe('+PONG\r\n');
    expect(text(QUEUED)).toBe('+QUEUED\r\n');
    expect(text(RESET_REPLY)).toBe('+RESET\r\n');
    expect(text(EMPTY_ARRAY)).toBe('*0\r\n');
  });
});

describe('encodeSimple and encodeError', () => {
  it('encodes a simple string', () => {
    expect(text(encodeSimple('OK'))).toBe('+OK\r\n');
  });

  it('encodes an error', () => {
    expect(text(encodeError('ERR syntax error'))).toBe('-ERR syntax error\r\n');
  });

  it('turns inner line breaks into spaces and drops outer ones', () => {
    expect(text(encodeError('\r\nERR a\r\nb\nc\r\n'))).toBe('-ERR a  b c\r\n');
    expect(text(encodeSimple('a\rb\n'))).toBe('+a b\r\n');
  });

  it('encodes text as UTF-8', () => {
    expect(encodeError('ERR é')).toEqual(Buffer.from([0x2d, 0x45, 0x52, 0x52, 0x20, 0xc3, 0xa9, 0x0d, 0x0a]));
  });
});

describe('encodeQuotingError', () => {
  it('writes each quoted latin1 character as one byte', () => {
    const quoted = Buffer.from([0xe9, 0x0d, 0x41]).toString('latin1');
    expect(encodeQuotingError(`ERR '${quoted}'`)).toEqual(Buffer.from([0x2d, 0x45, 0x52, 0x52, 0x20, 0x27, 0xe9, 0x20, 0x41, 0x27, 0x0d, 0x0a]));
  });
});

describe('encodeInteger', () => {
  it('encodes numbers and bigints', () => {
    expect(text(encodeInteger(0))).toBe(':0\r\n');
    expect(text(encodeInteger(255))).toBe(':255\r\n');
    expect(text(encodeInteger(256))).toBe(':256\r\n');
    expect(text(encodeInteger(-1))).toBe(':-1\r\n');
    expect(text(encodeInteger(-9223372036854775808n))).toBe(':-9223372036854775808\r\n');
  });

  it('rejects a fraction', () => {
    expect(() => encodeInteger(1.5)).toThrow(RangeError);
    expect(() => encodeInteger(NaN)).toThrow(RangeError);
  });
});

describe('encodeBulk', () => {
  it('encodes strings and Buffers', () => {
    expect(text(encodeBulk('héllo', 2))).toBe('$6\r\nh\xc3\xa9llo\r\n');
    expect(text(encodeBulk(Buffer.from('a\r\nb'), 3))).toBe('$4\r\na\r\nb\r\n');
    expect(text(encodeBulk('', 2))).toBe('$0\r\n\r\n');
  });

  it('encodes null per protocol', () => {
    expect(text(encodeBulk(null, 2))).toBe('$-1\r\n');
    expect(text(encodeBulk(null, 3))).toBe('_\r\n');
  });
});

describe('encodeArray, encodeNullArray and encodeMap', () => {
  it('encodes an array of encoded items', () => {
    expect(text(encodeArray([encodeBulk('a', 2), encodeInteger(1)]))).toBe('*2\r\n$1\r\na\r\n:1\r\n');
    expect(text(encodeArray([]))).toBe('*0\r\n');
  });

  it('encodes a null array per protocol', () => {
    expect(text(encodeNullArray(2))).toBe('*-1\r\n');
    expect(text(encodeNullArray(3))).toBe('_\r\n');
  });

  it('encodes a map per protocol', () => {
    const entries: [Buffer, Buffer][] = [
      [encodeBulk('proto', 3), encodeInteger(3)],
      [encodeBulk('id', 3), encodeInteger(12)],
    ];
    expect(text(encodeMap(entries, 3))).toBe('%2\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:12\r\n');
    expect(text(encodeMap(entries, 2))).toBe('*4\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:12\r\n');
    expect(text(encodeMap([], 3))).toBe('%0\r\n');
  });
});

describe('encodeCommand', () => {
  it('encodes a multibulk request', () => {
    expect(text(encodeCommand(['SET', Buffer.from('k\r\n'), '']))).toBe('*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$0\r\n\r\n');
  });
});
