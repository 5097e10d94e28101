/**
 * The per-command audit stream: with `audit.commands` set, every command of the chosen users
 * gets one log line with identity, client address, command name, result, latency and, with
 * `audit.keys`, key names; never other arguments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient, encodeCommand } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: RedisServer;
let proxy: TestProxy;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, {
    users: { audited: 'on >a-pass ~app:* +@all', quiet: 'on >q-pass ~* +@all' },
    extraYaml: 'audit:\n  commands: [audited]\n  keys: true\n',
    metrics: true,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.stop();
});

describe('command audit stream', () => {
  it('records commands of the chosen users only', async () => {
    const audited = await RawClient.connect(proxy.port);
    expect(await audited.call(['AUTH', 'audited', 'a-pass'])).toBe('+OK\r\n');
    expect(await audited.call(['SET', 'app:k', 'secret-value'])).toBe('+OK\r\n');
    expect(await audited.call(['GET', 'other:k'])).toBe('-NOPERM this user has no permissions to access one of the keys used as arguments\r\n');
    const quiet = await RawClient.connect(proxy.port);
    expect(await quiet.call(['AUTH', 'quiet', 'q-pass'])).toBe('+OK\r\n');
    expect(await quiet.call(['GET', 'app:k'])).toBe('$12\r\nsecret-value\r\n');
    audited.close();
    quiet.close();

    const lines = proxy.logs.lines.filter((line) => line.event === 'command');
    expect(lines.map((line) => [line.user, line.command, line.result])).toEqual([
      ['audited', 'auth', 'allowed'],
      ['audited', 'set', 'allowed'],
      ['audited', 'get', 'denied'],
    ]);
    expect(lines[1]!.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(lines.map((line) => line.keys)).toEqual([[], ['app:k'], ['other:k']]);
    expect(proxy.logs.text().includes('secret-value')).toBe(false);
  });

  it('records a pipeline under the user that sent each command', async () => {
    const client = await RawClient.connect(proxy.port);
    const before = proxy.logs.lines.filter((line) => line.event === 'command').length;
    client.send(Buffer.concat([
      encodeCommand(['AUTH', 'audited', 'a-pass']),
      encodeCommand(['SET', 'app:pipelined', 'v']),
      encodeCommand(['DEL', 'app:pipelined']),
      encodeCommand(['AUTH', 'quiet', 'q-pass']),
      encodeCommand(['GET', 'app:pipelined']),
      encodeCommand(['RESET']),
    ]));
    expect(await client.reply()).toBe('+OK\r\n');
    expect(await client.reply()).toBe('+OK\r\n');
    expect(await client.reply()).toBe(':1\r\n');
    expect(await client.reply()).toBe('+OK\r\n');
    expect(await client.reply()).toBe('$-1\r\n');
    expect(await client.reply()).toBe('+RESET\r\n');
    client.close();

    const lines = proxy.logs.lines.filter((line) => line.event === 'command').slice(before);
    expect(lines.map((line) => [line.user, line.command, line.result])).toEqual([
      ['audited', 'auth', 'allowed'],
      ['audited', 'set', 'allowed'],
      ['audited', 'del', 'allowed'],
    ]);
  });
});
