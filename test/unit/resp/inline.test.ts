import { describe, expect, it } from 'vitest';
import { splitInlineArgs } from '../../../src/resp/inline.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function split(line: string): string[] | null {
  const args = splitInlineArgs(bytes(line));
  return args === null ? null : args.map((arg) => arg.toString('latin1'));
}

describe('splitInlineArgs', () => {
  it('splits on spaces and tabs', () => {
    expect(split('SET  key\tvalue')).toEqual(['SET', 'key', 'value']);
  });

  it('returns no arguments for a blank line', () => {
    expect(split('')).toEqual([]);
    expect(split(' \t\x0b\x0c\r')).toEqual([]);
  });

  it('keeps vertical tab and form feed inside an argument', () => {
    expect(split('a\x0bb c\x0cd')).toEqual(['a\x0bb', 'c\x0cd']);
  });

  it('skips vertical tab and form feed between arguments', () => {
    expect(split('\x0ba "b"\x0cc')).toEqual(['a', 'b', 'c']);
  });

  it('decodes double-quoted escapes', () => {
    expect(split('"\\x41\\x7a\\n\\r\\t\\b\\a\\q\\\\\\""')).toEqual(['Az\n\r\t\b\x07q\\"']);
  });

  it('keeps x when two hex digits do not follow', () => {
    expect(split('"\\xZZ" "\\x4" "\\x4g"')).toEqual(['xZZ', 'x4', 'x4g']);
  });

  it('decodes hex escapes to any byte', () => {
    expect(split('"\\xff\\x00"')).toEqual(['\xff\x00']);
  });

  it('understands only \\\' in single quotes', () => {
    expect(split("'a\\'b\\n\\\\x'")).toEqual(["a'b\\n\\\\x"]);
  });

  it('joins a quote opened inside an argument', () => {
    expect(split('a"b c" d\'e f\'')).toEqual(['ab c', "de f"]);
  });

  it('accepts empty quoted arguments', () => {
    expect(split('"" \'\'')).toEqual(['', '']);
  });

  it('keeps backslashes outside quotes', () => {
    expect(split('a\\x41 b\\')).toEqual(['a\\x41', 'b\\']);
  });

  it('rejects a closing quote followed by a byte', () => {
    expect(split('"a"b')).toBeNull();
    expect(split("'a'b")).toBeNull();
  });

  it('rejects unterminated quotes', () => {
    expect(split('"abc')).toBeNull();
    expect(split("'abc")).toBeNull();
    expect(split('"a\\"')).toBeNull();
    expect(split('"a\\')).toBeNull();
  });

  it('returns plain arguments as views and quoted ones as copies', () => {
    const line = bytes('plain "quoted"');
    const args = splitInlineArgs(line)!;
    expect(args[0]!.buffer).toBe(line.buffer);
    expect(args[0]!.byteOffset).toBe(line.byteOffset);
    line.fill(0x2e);
    expect(args[0]!.toString()).toBe('.....');
    expect(args[1]!.toString()).toBe('quoted');
  });
});
