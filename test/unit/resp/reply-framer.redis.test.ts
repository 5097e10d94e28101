/**
 * Replies captured from a real redis-server 7.0.15 must frame to exactly the bytes received, and
 * decodeReply must read the HELLO and COMMAND replies that respguard reads itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { RawClient } from '../../helpers/resp-client.js';
import { ReplyFramer, decodeReply, type FramedReply } from '../../../src/resp/reply-framer.js';
import { chunkings } from './chunking.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis({ args: ['--enable-debug-command', 'yes'] });
});

afterAll(async () => {
  await server?.stop();
});

/**
 * Sends inline commands in one write, then PING, and returns every reply before the PONG as the
 * test client's own framing split them.
 */
async function capture(commands: string[]): Promise<string[]> {
  const client = await RawClient.connect(server.port);
  try {
    client.send(`${commands.join('\r\n')}\r\nPING\r\n`);
    const replies: string[] = [];
    for (;;) {
      const reply = await client.reply();
      if (reply === '+PONG\r\n') return replies;
      if (reply === 'CLOSED' || reply === 'TIMEOUT') throw new Error(`capture ended with ${reply}`);
      replies.push(reply);
    }
  } finally {
    client.close();
  }
}

function frameAll(chunks: Buffer[]): FramedReply[] {
  const framer = new ReplyFramer({ maxDepth: 1000, maxBulkLength: 512 * 1024 * 1024 });
  const replies: FramedReply[] = [];
  for (const chunk of chunks) {
    framer.feed(chunk);
    for (let reply = framer.next(); reply !== null; reply = framer.next()) replies.push(reply);
  }
  return replies;
}

function expectSameFraming(replies: string[]): void {
  const stream = Buffer.from(replies.join(''), 'latin1');
  for (const chunking of chunkings(stream, 30)) {
    const framed = frameAll(chunking.chunks);
    expect(framed.map((reply) => reply.bytes.toString('latin1')), chunking.name).toEqual(replies);
  }
}

const RESP3_COMMANDS = [
  'HELLO 3',
  'DEBUG PROTOCOL attrib',
  'DEBUG PROTOCOL push',
  'DEBUG PROTOCOL verbatim',
  'DEBUG PROTOCOL bignum',
  'DEBUG PROTOCOL double',
  'DEBUG PROTOCOL set',
  'DEBUG PROTOCOL map',
  'DEBUG PROTOCOL null',
  'DEBUG PROTOCOL true',
  'DEBUG PROTOCOL false',
  'CLIENT TRACKING on',
  'GET tracked',
  'SET tracked v',
  'COMMAND INFO get set',
  'HGETALL nothing',
  'NOSUCHCOMMAND',
  'SUBSCRIBE news',
];

describe('ReplyFramer on replies from redis-server', () => {
  it('frames RESP3 replies to the bytes received', async () => {
    const replies = await capture(RESP3_COMMANDS);
    expect(replies.length).toBeGreaterThanOrEqual(RESP3_COMMANDS.length + 2);
    expect(replies.some((reply) => reply.startsWith('|1\r\n'))).toBe(true);
    expectSameFraming(replies);
  });

  it('marks RESP3 push messages', async () => {
    const replies = await capture(RESP3_COMMANDS);
    const framed = frameAll([Buffer.from(replies.join(''), 'latin1')]);
    const pushes = framed.filter((reply) => reply.push).map((reply) => reply.bytes.toString('latin1'));
    expect(pushes).toEqual([
      '>2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n',
      '>2\r\n$10\r\ninvalidate\r\n*1\r\n$7\r\ntracked\r\n',
      '>3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n',
    ]);
  });

  it('frames RESP2 replies to the bytes received', async () => {
    const replies = await capture([
      'HELLO 2',
      'RPUSH list a b c',
      'LRANGE list 0 -1',
      'MULTI',
      'INCR counter',
      'LRANGE list 0 0',
      'EXEC',
      'GET missing',
      'COMMAND INFO get',
      'CLIENT LIST',
      'SCAN 0',
      'HSET hash f v',
      'HGETALL hash',
      'INCR list',
    ]);
    expect(replies).toHaveLength(14);
    expectSameFraming(replies);
  });

  it('frames a 1 MB value to the bytes received', async () => {
    const client = await RawClient.connect(server.port);
    try {
      const value = Buffer.alloc(1024 * 1024, 0x62);
      expect(await client.call(['SET', 'big', value])).toBe('+OK\r\n');
      const reply = await client.call(['GET', 'big']);
      const framed = frameAll(chunkings(Buffer.from(reply, 'latin1'), 5).at(-1)!.chunks);
      expect(framed).toHaveLength(1);
      expect(framed[0]!.bytes.toString('latin1')).toBe(reply);
    } finally {
      client.close();
    }
  });
});

describe('decodeReply on replies from redis-server', () => {
  it('reads the HELLO 3 map', async () => {
    const [hello] = await capture(['HELLO 3']);
    const value = decodeReply(Buffer.from(hello!, 'latin1'));
    expect(value).toBeInstanceOf(Map);
    const map = value as Map<unknown, unknown>;
    expect(map.get('proto')).toBe(3);
    expect((map.get('version') as Buffer).toString()).toBe('7.0.15');
    expect((map.get('mode') as Buffer).toString()).toBe('standalone');
    expect(map.get('modules')).toEqual([]);
  });

  it('reads the HELLO 2 array', async () => {
    const [hello] = await capture(['HELLO 2']);
    const value = decodeReply(Buffer.from(hello!, 'latin1')) as unknown[];
    expect(Array.isArray(value)).toBe(true);
    expect(value).toHaveLength(14);
    expect((value[0] as Buffer).toString()).toBe('server');
    expect((value[4] as Buffer).toString()).toBe('proto');
    expect(value[5]).toBe(2);
  });

  it('reads COMMAND INFO in RESP3', async () => {
    const [, info] = await capture(['HELLO 3', 'COMMAND INFO get']);
    const value = decodeReply(Buffer.from(info!, 'latin1')) as unknown[][];
    const get = value[0]!;
    expect((get[0] as Buffer).toString()).toBe('get');
    expect(get[1]).toBe(2);
    expect(get[2]).toEqual(new Set(['readonly', 'fast']));
    expect(get.slice(3, 6)).toEqual([1, 1, 1]);
    expect(get[6]).toEqual(new Set(['@read', '@string', '@fast']));
  });
});
