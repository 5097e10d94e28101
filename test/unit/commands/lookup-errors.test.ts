import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandTable, type LookupResult } from '../../../src/commands/table.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { RawClient } from '../../helpers/resp-client.js';

const bytes = (...parts: (string | number[])[]): Buffer[] =>
  parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part)));

interface ErrorCase {
  name: string;
  args: Buffer[];
  kind: LookupResult['kind'];
}

// Each request here fails in Redis before it runs, so sending it changes nothing on the server.
const cases: ErrorCase[] = [
  { name: 'unknown command alone', args: bytes('foo'), kind: 'unknown-command' },
  { name: 'unknown command in upper case', args: bytes('NOSUCH'), kind: 'unknown-command' },
  { name: 'unknown full subcommand name', args: bytes('client|id'), kind: 'unknown-command' },
  { name: 'unknown command of 200 bytes', args: bytes('n'.repeat(200)), kind: 'unknown-command' },
  { name: 'unknown command of 128 bytes', args: bytes('m'.repeat(128)), kind: 'unknown-command' },
  { name: 'unknown command with CR and LF', args: bytes('a\r\nb\rc\nd'), kind: 'unknown-command' },
  { name: 'unknown command with NUL', args: bytes('ab\0cd'), kind: 'unknown-command' },
  { name: 'unknown command of high bytes', args: bytes([0xff, 0xc3, 0xa9, 0x80]), kind: 'unknown-command' },
  { name: 'unknown empty command', args: bytes(''), kind: 'unknown-command' },
  { name: 'unknown subcommand', args: bytes('client', 'xyz'), kind: 'unknown-subcommand' },
  { name: 'unknown subcommand in mixed case', args: bytes('cLiEnt', 'XyZ', 'a'), kind: 'unknown-subcommand' },
  { name: 'unknown subcommand of 200 bytes', args: bytes('config', 's'.repeat(200)), kind: 'unknown-subcommand' },
  { name: 'unknown subcommand with CR and LF', args: bytes('object', 'x\r\ny'), kind: 'unknown-subcommand' },
  { name: 'unknown subcommand with NUL', args: bytes('acl', 'wh\0oami'), kind: 'unknown-subcommand' },
  { name: 'unknown subcommand of high bytes', args: bytes('xinfo', [0xe9, 0xff]), kind: 'unknown-subcommand' },
  { name: 'unknown empty subcommand', args: bytes('memory', ''), kind: 'unknown-subcommand' },
  { name: 'get without key', args: bytes('get'), kind: 'wrong-arity' },
  { name: 'get with two keys', args: bytes('GET', 'a', 'b'), kind: 'wrong-arity' },
  { name: 'mset with one argument', args: bytes('mset', 'a'), kind: 'wrong-arity' },
  { name: 'container alone', args: bytes('client'), kind: 'wrong-arity' },
  { name: 'container alone in upper case', args: bytes('CONFIG'), kind: 'wrong-arity' },
  { name: 'subcommand too short', args: bytes('CLIENT', 'SETNAME'), kind: 'wrong-arity' },
  { name: 'subcommand too long', args: bytes('object', 'help', 'x'), kind: 'wrong-arity' },
  { name: 'variadic subcommand too short', args: bytes('config', 'get'), kind: 'wrong-arity' },
];

describe('lookup error texts', () => {
  const table = CommandTable.default();
  let redis: RedisServer;
  let client: RawClient;

  beforeAll(async () => {
    redis = await startRedis();
    client = await RawClient.connect(redis.port);
  });

  afterAll(async () => {
    client?.close();
    await redis?.stop();
  });

  for (const { name, args, kind } of cases) {
    it(`matches Redis: ${name}`, async () => {
      const result = table.resolve(args);
      expect(result.kind).toBe(kind);
      const error = result.kind === 'ok' ? '' : result.error;
      expect(await client.call(args)).toBe(`-${error}\r\n`);
    });
  }

  it('omits the arguments Redis appends', async () => {
    const result = table.resolve(bytes('foo', 'secret', 'b'));
    expect(result).toEqual({ kind: 'unknown-command', error: "ERR unknown command 'foo', with args beginning with: " });
    expect(await client.call(bytes('foo', 'secret', 'b'))).toBe("-ERR unknown command 'foo', with args beginning with: 'secret' 'b' \r\n");
  });

  it('cuts names at 128 bytes', () => {
    const result = table.resolve(bytes('n'.repeat(200)));
    expect(result).toEqual({ kind: 'unknown-command', error: `ERR unknown command '${'n'.repeat(128)}', with args beginning with: ` });
  });

  it('upper-cases the container in the hint', () => {
    const result = table.resolve(bytes('cLiEnt', 'nope'));
    expect(result).toEqual({ kind: 'unknown-subcommand', error: "ERR unknown subcommand 'nope'. Try CLIENT HELP." });
  });

  it('names the full subcommand on arity errors', () => {
    const result = table.resolve(bytes('CLIENT', 'SETNAME'));
    expect(result).toEqual({
      kind: 'wrong-arity',
      command: table.get('client')!.subcommands!.get('setname'),
      error: "ERR wrong number of arguments for 'client|setname' command",
    });
  });

  it('keeps request bytes as latin1', () => {
    const result = table.resolve(bytes([0xff, 0x41]));
    const error = result.kind === 'unknown-command' ? result.error : '';
    expect(error).toBe("ERR unknown command '\xffA', with args beginning with: ");
    expect([...Buffer.from(error, 'latin1').subarray(21, 23)]).toEqual([0xff, 0x41]);
  });
});
