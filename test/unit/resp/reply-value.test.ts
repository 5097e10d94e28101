import { describe, expect, it } from 'vitest';
import {
  ErrorReply,
  PushReply,
  ReplyProtocolError,
  VerbatimString,
  decodeReply,
  type RespValue,
} from '../../../src/resp/reply-framer.js';

const decode = (text: string): RespValue => decodeReply(Buffer.from(text, 'latin1'));

describe('decodeReply scalars', () => {
  it('decodes a simple string to a string', () => {
    expect(decode('+OK\r\n')).toBe('OK');
  });

  it('decodes a bulk string to a Buffer', () => {
    expect(decode('$5\r\nh\r\nlo\r\n')).toEqual(Buffer.from('h\r\nlo'));
  });

  it('decodes every null to null', () => {
    expect(decode('$-1\r\n')).toBeNull();
    expect(decode('*-1\r\n')).toBeNull();
    expect(decode('_\r\n')).toBeNull();
  });

  it('decodes integers to numbers or bigints', () => {
    expect(decode(':-42\r\n')).toBe(-42);
    expect(decode(':9007199254740991\r\n')).toBe(9007199254740991);
    expect(decode(':9007199254740992\r\n')).toBe(9007199254740992n);
    expect(decode(':-9223372036854775808\r\n')).toBe(-9223372036854775808n);
  });

  it('decodes doubles', () => {
    expect(decode(',3.141\r\n')).toBe(3.141);
    expect(decode(',1e+300\r\n')).toBe(1e300);
    expect(decode(',inf\r\n')).toBe(Infinity);
    expect(decode(',-inf\r\n')).toBe(-Infinity);
    expect(decode(',nan\r\n')).toBeNaN();
  });

  it('decodes booleans and big numbers', () => {
    expect(decode('#t\r\n')).toBe(true);
    expect(decode('#f\r\n')).toBe(false);
    expect(decode('(-1234567999999999999999999999999999999\r\n')).toBe(-1234567999999999999999999999999999999n);
  });

  it('decodes both error forms to ErrorReply', () => {
    expect(decode('-ERR no\r\n')).toEqual(new ErrorReply('ERR no'));
    expect(decode('!21\r\nSYNTAX invalid syntax\r\n')).toEqual(new ErrorReply('SYNTAX invalid syntax'));
  });

  it('decodes a verbatim string with its format', () => {
    expect(decode('=29\r\ntxt:This is a verbatim\nstring\r\n')).toEqual(
      new VerbatimString('txt', Buffer.from('This is a verbatim\nstring')),
    );
  });
});

describe('decodeReply aggregates', () => {
  it('decodes arrays', () => {
    expect(decode('*3\r\n:1\r\n*1\r\n+a\r\n$-1\r\n')).toEqual([1, ['a'], null]);
  });

  it('decodes a map with string keys', () => {
    const value = decode('%3\r\n$5\r\nproto\r\n:3\r\n+mode\r\n$3\r\nstd\r\n:7\r\n#t\r\n');
    expect(value).toEqual(
      new Map<RespValue, RespValue>([
        ['proto', 3],
        ['mode', Buffer.from('std')],
        [7, true],
      ]),
    );
  });

  it('decodes a set with string members', () => {
    expect(decode('~3\r\n+write\r\n$7\r\ndenyoom\r\n:1\r\n')).toEqual(new Set(['write', 'denyoom', 1]));
  });

  it('decodes a push', () => {
    expect(decode('>2\r\n+message\r\n:1\r\n')).toEqual(new PushReply(['message', 1]));
  });

  it('drops attributes', () => {
    expect(decode('|1\r\n+key-popularity\r\n*1\r\n:9\r\n*2\r\n|1\r\n+ttl\r\n:5\r\n:1\r\n:2\r\n')).toEqual([1, 2]);
  });
});

describe('decodeReply invalid input', () => {
  it('rejects trailing bytes', () => {
    expect(() => decode('+OK\r\n+OK\r\n')).toThrow(new ReplyProtocolError('5 bytes follow the reply'));
  });

  it('rejects an incomplete reply', () => {
    expect(() => decode('*2\r\n:1\r\n')).toThrow(new ReplyProtocolError('incomplete reply'));
  });

  it('rejects invalid bytes', () => {
    expect(() => decode(':x\r\n')).toThrow(ReplyProtocolError);
  });

  it('rejects nesting deeper than maxDepth', () => {
    expect(() => decodeReply(Buffer.from(`${'*1\r\n'.repeat(3)}:1\r\n`), 2)).toThrow(ReplyProtocolError);
    expect(decodeReply(Buffer.from(`${'*1\r\n'.repeat(2)}:1\r\n`), 2)).toEqual([[1]]);
  });
});
