/**
 * Many clients pipelining through few shared upstream connections: every client must get
 * exactly its own replies, in the order of its requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient, encodeCommand } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: RedisServer;
let proxy: TestProxy;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, { users: { app: 'on >app-pass ~* +@all -@dangerous' }, poolSize: 2 });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

/** Reads `count` replies and returns them joined, so one comparison checks all of them in order. */
async function readAll(client: RawClient, count: number): Promise<string[]> {
  const replies: string[] = [];
  for (let i = 0; i < count; i++) replies.push(await client.reply(30_000));
  return replies;
}

describe('multiplexing', () => {
  it('gives 100 pipelining clients exactly their replies in order', async () => {
    const clients = 100;
    const perClient = 1000;
    const results = await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const client = await RawClient.connect(proxy.port);
        // Generous timeouts: CI machines run this beside other suites, and no check here is about speed.
        expect(await client.call(['AUTH', 'app', 'app-pass'], 30_000)).toBe('+OK\r\n');
        const requests: Buffer[] = [];
        for (let i = 0; i < perClient; i++) {
          requests.push(i % 2 === 0 ? encodeCommand(['ECHO', `c${c}-r${i}`]) : encodeCommand(['INCR', `counter:${c}`]));
        }
        // Send in uneven slices so that requests cross TCP reads at many places.
        const bytes = Buffer.concat(requests);
        for (let at = 0; at < bytes.length; at += 7919) client.send(bytes.subarray(at, at + 7919));
        const replies = await readAll(client, perClient);
        client.close();
        return replies;
      }),
    );
    for (let c = 0; c < clients; c++) {
      const expected: string[] = [];
      for (let i = 0; i < perClient; i++) {
        if (i % 2 === 0) {
          const token = `c${c}-r${i}`;
          expected.push(`$${token.length}\r\n${token}\r\n`);
        } else {
          expected.push(`:${(i + 1) / 2}\r\n`);
        }
      }
      expect(results[c]).toEqual(expected);
    }
  }, 120_000);

  it('keeps local and forwarded replies in request order', async () => {
    const client = await RawClient.connect(proxy.port);
    client.send(
      Buffer.concat([
        encodeCommand(['AUTH', 'app', 'app-pass']),
        encodeCommand(['SET', 'order:k', '1']),
        encodeCommand(['CLIENT', 'SETNAME', 'n1']),
        encodeCommand(['GET', 'order:k']),
        encodeCommand(['NOSUCH']),
        encodeCommand(['INCR', 'order:k']),
        encodeCommand(['CLIENT', 'GETNAME']),
        encodeCommand(['FLUSHALL']),
        encodeCommand(['GET', 'order:k']),
      ]),
    );
    const replies = await readAll(client, 9);
    expect(replies.slice(0, 4)).toEqual(['+OK\r\n', '+OK\r\n', '+OK\r\n', '$1\r\n1\r\n']);
    expect(replies[4]).toBe("-ERR unknown command 'NOSUCH', with args beginning with: \r\n");
    expect(replies[5]).toBe(':2\r\n');
    expect(replies[6]).toBe('$2\r\nn1\r\n');
    expect(replies[7]!.startsWith("-NOPERM this user has no permissions to run the 'flushall' command")).toBe(true);
    expect(replies[8]).toBe('$1\r\n2\r\n');
    client.close();
  });

  it('passes a 20 MB value both ways', async () => {
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    const value = Buffer.alloc(20 * 1024 * 1024, 'x');
    value.write('start', 0);
    value.write('end', value.length - 3);
    expect(await client.call(['SET', 'big', value], 20_000)).toBe('+OK\r\n');
    const reply = await client.call(['GET', 'big'], 20_000);
    const header = `$${value.length}\r\n`;
    expect(reply.length).toBe(header.length + value.length + 2);
    expect(reply.startsWith(`${header}start`)).toBe(true);
    expect(reply.endsWith('end\r\n')).toBe(true);
    client.close();
  });
});
