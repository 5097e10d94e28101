/**
 * The database of a session after pipelined SELECTs. When SELECT 0 and SELECT 1 were pipelined,
 * the reply to SELECT 0 once set the session's database to 0 and gave its pinned connection back
 * while SELECT 1 was still in flight, so the next commands ran in database 0 although the client
 * selected database 1 last. The session now counts the database from the request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient, encodeCommand } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: RedisServer;
let proxy: TestProxy;
let direct: RawClient;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, { users: { app: 'on >app-pass ~* +@all' } });
  direct = await RawClient.connect(upstream.port);
  expect(await direct.call(['AUTH', 'upstream-secret'])).toBe('+OK\r\n');
});

afterAll(async () => {
  direct?.close();
  await proxy?.stop();
  await upstream?.stop();
});

/** Returns whether `key` exists in database `db`, asked of Redis directly. */
async function existsIn(db: number, key: string): Promise<string> {
  expect(await direct.call(['SELECT', String(db)])).toBe('+OK\r\n');
  return direct.call(['EXISTS', key]);
}

describe('pipelined SELECT', () => {
  it('writes to the database selected one request at a time', async () => {
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    expect(await client.call(['SELECT', '1'])).toBe('+OK\r\n');
    expect(await client.call(['SELECT', '0'])).toBe('+OK\r\n');
    expect(await client.call(['SELECT', '1'])).toBe('+OK\r\n');
    expect(await client.call(['SET', 'select:serial', 'v'])).toBe('+OK\r\n');
    expect(await existsIn(1, 'select:serial')).toBe(':1\r\n');
    expect(await existsIn(0, 'select:serial')).toBe(':0\r\n');
    client.close();
  });

  it('writes to the last database of a pipeline', async () => {
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['AUTH', 'app', 'app-pass'])).toBe('+OK\r\n');
    expect(await client.call(['SELECT', '1'])).toBe('+OK\r\n');
    client.send(Buffer.concat([encodeCommand(['SELECT', '0']), encodeCommand(['SELECT', '1'])]));
    expect(await client.reply()).toBe('+OK\r\n');
    expect(await client.reply()).toBe('+OK\r\n');
    expect(await client.call(['SET', 'select:pipelined', 'v'])).toBe('+OK\r\n');
    expect(await existsIn(1, 'select:pipelined')).toBe(':1\r\n');
    expect(await existsIn(0, 'select:pipelined')).toBe(':0\r\n');
    client.close();
  });
});
