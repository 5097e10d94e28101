import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DECODER_LIMITS,
  ProtocolError,
  RequestDecoder,
  type DecodedCommand,
  type DecoderLimits,
} from '../../../src/resp/request-decoder.js';
import { chunkings, fixedChunks } from './chunking.js';
import { ERROR_CASES, INVALID_MULTIBULK, STRICTER_CASES, UNAUTH_BULK } from './decoder-cases.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

function decoder(authenticated: boolean, limits: DecoderLimits = DEFAULT_DECODER_LIMITS): RequestDecoder {
  const result = new RequestDecoder({ ...limits });
  result.authenticated = authenticated;
  return result;
}

/** Feeds the chunks and collects every command, calling next() after each chunk as the session does. */
function decodeChunks(target: RequestDecoder, chunks: Buffer[]): DecodedCommand[] {
  const commands: DecodedCommand[] = [];
  for (const chunk of chunks) {
    target.feed(chunk);
    for (let command = target.next(); command !== null; command = target.next()) commands.push(command);
  }
  return commands;
}

/** Returns the ProtocolError that decoding the chunks throws, or null. */
function decodeError(target: RequestDecoder, chunks: Buffer[]): ProtocolError | null {
  try {
    decodeChunks(target, chunks);
    return null;
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
}

const texts = (command: DecodedCommand): string[] => command.args.map((arg) => arg.toString('latin1'));

interface ValidCase {
  name: string;
  input: string;
  /** Expected commands: arguments and the raw bytes, null for inline. */
  commands: { args: string[]; raw: string | null }[];
}

const PING = '*1\r\n$4\r\nPING\r\n';
const SET = '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n';
const BINARY = '*2\r\n$4\r\nECHO\r\n$6\r\na\r\n\0\xffb\r\n';

const VALID_CASES: ValidCase[] = [
  { name: 'multibulk command', input: PING, commands: [{ args: ['PING'], raw: PING }] },
  { name: 'empty argument', input: SET, commands: [{ args: ['SET', 'k', ''], raw: SET }] },
  { name: 'binary argument', input: BINARY, commands: [{ args: ['ECHO', 'a\r\n\0\xffb'], raw: BINARY }] },
  { name: 'inline command with CRLF', input: 'PING\r\n', commands: [{ args: ['PING'], raw: null }] },
  { name: 'inline command with LF', input: 'PING\n', commands: [{ args: ['PING'], raw: null }] },
  {
    name: 'inline quoting',
    input: 'SET k "a b\\x41\\n" \'c\\\'d\'\r\n',
    commands: [{ args: ['SET', 'k', 'a bA\n', "c'd"], raw: null }],
  },
  {
    name: 'empty requests are skipped',
    input: `*0\r\n*-1\r\n\r\n   \r\n${PING}`,
    commands: [{ args: ['PING'], raw: PING }],
  },
  {
    name: 'pipeline of both forms',
    input: `${PING}ECHO hi\r\n${SET}${BINARY}`,
    commands: [
      { args: ['PING'], raw: PING },
      { args: ['ECHO', 'hi'], raw: null },
      { args: ['SET', 'k', ''], raw: SET },
      { args: ['ECHO', 'a\r\n\0\xffb'], raw: BINARY },
    ],
  },
];

describe('RequestDecoder valid input', () => {
  for (const testCase of VALID_CASES) {
    it(`decodes ${testCase.name} at every split`, () => {
      for (const chunking of chunkings(bytes(testCase.input))) {
        const commands = decodeChunks(decoder(true), chunking.chunks);
        expect(commands.map(texts), chunking.name).toEqual(testCase.commands.map((command) => command.args));
        expect(commands.map((command) => command.raw?.toString('latin1') ?? null), chunking.name).toEqual(
          testCase.commands.map((command) => command.raw),
        );
      }
    });
  }

  it('returns views into the fed chunk', () => {
    const chunk = bytes(`${SET}`);
    const target = decoder(true);
    target.feed(chunk);
    const command = target.next()!;
    expect(command.raw!.buffer).toBe(chunk.buffer);
    expect(command.raw!.byteOffset).toBe(chunk.byteOffset);
    expect(command.args[1]!.buffer).toBe(chunk.buffer);
  });

  it('keeps returned arguments intact while more input arrives', () => {
    const target = decoder(true);
    target.feed(bytes('*2\r\n$4\r\nECHO\r\n$5\r\nfir'));
    expect(target.next()).toBeNull();
    target.feed(bytes('st\r\n*2\r\n$4\r\nECHO\r\n$6\r\nse'));
    const first = target.next()!;
    expect(target.next()).toBeNull();
    target.feed(bytes(`cond\r\n${'*2\r\n$4\r\nECHO\r\n$3\r\nxyz\r\n'.repeat(50)}`));
    const rest = [];
    for (let command = target.next(); command !== null; command = target.next()) rest.push(command);
    expect(texts(first)).toEqual(['ECHO', 'first']);
    expect(texts(rest[0]!)).toEqual(['ECHO', 'second']);
    expect(rest).toHaveLength(51);
  });

  it('reports buffered bytes until a command is returned', () => {
    const target = decoder(true);
    target.feed(bytes('*1\r\n$4\r\nPI'));
    expect(target.next()).toBeNull();
    expect(target.bufferedBytes).toBe(10);
    target.feed(bytes('NG\r\nPIN'));
    expect(texts(target.next()!)).toEqual(['PING']);
    expect(target.bufferedBytes).toBe(3);
    expect(target.next()).toBeNull();
    target.feed(bytes('G\r\n'));
    expect(texts(target.next()!)).toEqual(['PING']);
    expect(target.bufferedBytes).toBe(0);
  });

  it('decodes a 100 MB argument sent in 64 KiB chunks', () => {
    const size = 100 * 1024 * 1024;
    const head = bytes(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${size}\r\n`);
    const value = Buffer.alloc(size, 0x61);
    value[0] = 0x62;
    value[size - 1] = 0x7a;
    const input = Buffer.concat([head, value, bytes(`\r\n${PING}`)]);

    const commands = decodeChunks(decoder(true), fixedChunks(input, 64 * 1024));
    expect(commands).toHaveLength(2);
    const arg = commands[0]!.args[2]!;
    expect(arg.length).toBe(size);
    expect(arg[0]).toBe(0x62);
    expect(arg[size - 1]).toBe(0x7a);
    expect(arg.equals(value)).toBe(true);
    expect(commands[0]!.raw!.length).toBe(input.length - PING.length);
    expect(texts(commands[1]!)).toEqual(['PING']);
  });
});

describe('RequestDecoder protocol errors', () => {
  for (const testCase of [...ERROR_CASES, ...STRICTER_CASES]) {
    const label = JSON.stringify(testCase.input.length > 40 ? `${testCase.input.slice(0, 40)}...` : testCase.input);
    it(`rejects ${label} with ${testCase.kind}`, () => {
      const input = bytes(testCase.input);
      const splits = input.length > 1000 ? chunkings(input, 3).filter((c) => c.name !== 'byte by byte') : chunkings(input, 5);
      for (const chunking of splits) {
        const error = decodeError(decoder(testCase.authenticated ?? true), chunking.chunks);
        expect(error, chunking.name).not.toBeNull();
        expect(error!.reply, chunking.name).toBe(testCase.reply);
        expect(error!.kind, chunking.name).toBe(testCase.kind);
        expect(error!.closeWithoutReply, chunking.name).toBe(testCase.reply === null);
      }
    });
  }

  it('rejects a too long inline line fed byte by byte', () => {
    const target = decoder(true);
    let error: unknown = null;
    let fed = 0;
    try {
      for (fed = 0; fed < 70_000; fed++) {
        target.feed(Buffer.from([0x61]));
        target.next();
      }
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).kind).toBe('too_big_inline_request');
    expect(fed).toBe(65536);
  });

  it('accepts an inline line whose LF is the 65537th byte', () => {
    const withCrlf = decodeChunks(decoder(true), [bytes(`ECHO ${'a'.repeat(65530)}\r\n`)]);
    expect(withCrlf[0]!.args[1]!.length).toBe(65530);
    const withLf = decodeChunks(decoder(true), [bytes(`ECHO ${'a'.repeat(65531)}\n`)]);
    expect(withLf[0]!.args[1]!.length).toBe(65531);
  });

  it('throws the same error after failing', () => {
    const target = decoder(true);
    const error = decodeError(target, [bytes('*x\r\n')]);
    expect(error).not.toBeNull();
    expect(() => target.next()).toThrow(error!);
    expect(() => target.feed(bytes(PING))).toThrow(error!);
  });

  it('returns commands before a later protocol error', () => {
    const target = decoder(true);
    target.feed(bytes(`${PING}*x\r\n`));
    expect(texts(target.next()!)).toEqual(['PING']);
    expect(() => target.next()).toThrow(INVALID_MULTIBULK);
  });

  it('closes without reply past the query buffer limit', () => {
    const target = decoder(true, { ...DEFAULT_DECODER_LIMITS, maxQueryBuffer: 1000 });
    target.feed(Buffer.alloc(600, 0x61));
    let error: unknown = null;
    try {
      target.feed(Buffer.alloc(401, 0x61));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).reply).toBeNull();
    expect((error as ProtocolError).kind).toBe('query_buffer_limit');
  });

  it('counts commands not yet returned against the query buffer limit', () => {
    const target = decoder(true, { ...DEFAULT_DECODER_LIMITS, maxQueryBuffer: 1000 });
    target.feed(bytes(PING.repeat(70)));
    expect(target.bufferedBytes).toBe(980);
    expect(() => target.feed(bytes(PING.repeat(2)))).toThrow(ProtocolError);
  });
});

describe('RequestDecoder before authentication', () => {
  const AUTH = '*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n';
  const bigSet = (size: number): string => `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${size}\r\n${'v'.repeat(size)}\r\n`;
  const manyArgs = `*12\r\n$4\r\nMSET\r\n${'$1\r\nk\r\n'.repeat(11)}`;

  it('accepts 10 arguments of 16384 bytes', () => {
    const input = `*10\r\n$4\r\nMSET\r\n${`$16384\r\n${'x'.repeat(16384)}\r\n`.repeat(9)}`;
    const commands = decodeChunks(decoder(false), [bytes(input)]);
    expect(commands).toHaveLength(1);
    expect(commands[0]!.args).toHaveLength(10);
  });

  it('lifts the caps when authenticated flips between commands of one chunk', () => {
    const target = decoder(false);
    target.feed(bytes(AUTH + bigSet(20000) + manyArgs));
    expect(texts(target.next()!)).toEqual(['AUTH', 'secret']);
    target.authenticated = true;
    expect(target.next()!.args[2]!.length).toBe(20000);
    expect(target.next()!.args).toHaveLength(12);
    expect(target.next()).toBeNull();
  });

  it('keeps the caps when authenticated stays false', () => {
    const target = decoder(false);
    target.feed(bytes(AUTH + bigSet(20000)));
    expect(texts(target.next()!)).toEqual(['AUTH', 'secret']);
    expect(() => target.next()).toThrow(UNAUTH_BULK);
  });

  it('caps buffered input at 1 MiB', () => {
    const target = decoder(false);
    target.feed(Buffer.alloc(1024 * 1024, 0x61));
    expect(() => target.feed(bytes('a'))).toThrow(ProtocolError);
  });

  it('allows more buffered input once authenticated', () => {
    const target = decoder(false);
    target.feed(bytes(AUTH));
    expect(texts(target.next()!)).toEqual(['AUTH', 'secret']);
    target.authenticated = true;
    const size = 3 * 1024 * 1024;
    const commands = decodeChunks(target, fixedChunks(bytes(bigSet(size)), 64 * 1024));
    expect(commands).toHaveLength(1);
    expect(commands[0]!.args[2]!.length).toBe(size);
  });
});
