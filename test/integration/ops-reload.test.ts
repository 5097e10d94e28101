/**
 * Reload of a running respguard, in process through the CLI: on SIGHUP and on a change of the
 * config file, with the reload counters read from the metrics listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { freePort, startRedis, waitForPort, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { makeConfigDir, makeIo, type ConfigDir, type TestIo } from '../unit/cli/helpers.js';

function configText(ports: { proxy: number; upstream: number; metrics: number }, users: Record<string, string>): string {
  const userLines = Object.entries(users)
    .map(([name, acl]) => `  ${name}: { acl: ${JSON.stringify(acl)} }\n`)
    .join('');
  return (
    `listeners:\n  - { host: 127.0.0.1, port: ${ports.proxy} }\n` +
    `upstream: { host: 127.0.0.1, port: ${ports.upstream} }\n` +
    `metrics: { host: 127.0.0.1, port: ${ports.metrics} }\n` +
    `shutdownTimeoutMs: 2000\nusers:\n${userLines}`
  );
}

/** Waits until `count` log lines match every field of `fields`; returns the last of them. */
async function waitForLogs(io: TestIo, fields: Record<string, unknown>, count = 1, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = io.logs.lines.filter((entry) => Object.entries(fields).every(([key, value]) => entry[key] === value));
    if (lines.length >= count) return lines[count - 1]!;
    if (Date.now() > deadline) throw new Error(`fewer than ${count} log lines with ${JSON.stringify(fields)} in:\n${io.logs.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function login(port: number, user: string, password: string): Promise<{ client: RawClient; reply: string }> {
  const client = await RawClient.connect(port);
  return { client, reply: await client.call(['AUTH', user, password]) };
}

describe('reload', () => {
  const configs: ConfigDir = makeConfigDir();
  const io = makeIo();
  let redis: RedisServer;
  let ports: { proxy: number; upstream: number; metrics: number };
  let file: string;
  let exit: Promise<number | undefined>;

  const reloadLines = async (): Promise<string[]> => {
    const body = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    return body.split('\n').filter((line) => line.startsWith('respguard_config_reloads_total'));
  };

  beforeAll(async () => {
    redis = await startRedis();
    ports = { proxy: await freePort(), upstream: redis.port, metrics: await freePort() };
    file = configs.write('reload.yaml', configText(ports, { app: 'on >app-pw ~* +@all' }));
    exit = main(['--config', file], io);
    await waitForPort(ports.proxy);
    await waitForPort(ports.metrics);
  });

  afterAll(async () => {
    io.signals.emit('SIGTERM');
    await exit;
    await redis.stop();
    configs.remove();
  });

  it('reloads the unchanged file on SIGHUP', async () => {
    const { client, reply } = await login(ports.proxy, 'app', 'app-pw');
    expect(reply).toBe('+OK\r\n');
    io.signals.emit('SIGHUP');
    const line = await waitForLogs(io, { event: 'reload', result: 'ok', trigger: 'SIGHUP' });
    expect(line.msg).toBe('config reload applied');
    expect(await client.call(['PING'])).toBe('+PONG\r\n');
    client.close();
  });

  it('adds a user when the file changes', async () => {
    configs.write('reload.yaml', configText(ports, { app: 'on >app-pw ~* +@all', second: 'on >second-pw +ping' }));
    await waitForLogs(io, { event: 'reload', result: 'ok', trigger: 'file change' });
    const { client, reply } = await login(ports.proxy, 'second', 'second-pw');
    expect(reply).toBe('+OK\r\n');
    expect(await client.call(['PING'])).toBe('+PONG\r\n');
    client.close();
  });

  it('closes the sessions of a removed user', async () => {
    const removed = await login(ports.proxy, 'second', 'second-pw');
    expect(removed.reply).toBe('+OK\r\n');
    const kept = await login(ports.proxy, 'app', 'app-pw');
    expect(kept.reply).toBe('+OK\r\n');

    configs.write('reload.yaml', configText(ports, { app: 'on >app-pw ~* +@all' }));
    await waitForLogs(io, { event: 'reload', result: 'ok', trigger: 'file change' }, 2);
    expect(await removed.client.waitClosed(2000)).toBe(true);
    expect(await kept.client.call(['PING'])).toBe('+PONG\r\n');
    kept.client.close();

    const again = await login(ports.proxy, 'second', 'second-pw');
    expect(again.reply).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    again.client.close();
  });

  it('keeps the running config after an invalid file', async () => {
    configs.write('reload.yaml', configText(ports, { app: 'on >new-pw ~* +@all', third: 'on >third-pw +@nosuchcategory' }));
    const failure = await waitForLogs(io, { event: 'reload', result: 'failed', trigger: 'file change' });
    expect(failure.level).toBe(50);
    expect(failure.error).toBe(
      `${file}: users.third.acl: user "third": Error in ACL SETUSER modifier '+@nosuchcategory': Unknown command or category name in ACL`,
    );
    expect((await login(ports.proxy, 'app', 'app-pw')).reply).toBe('+OK\r\n');
    expect((await login(ports.proxy, 'app', 'new-pw')).reply).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    expect((await login(ports.proxy, 'third', 'third-pw')).reply).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
  });

  it('counts reloads by result', async () => {
    expect((await reloadLines()).sort()).toEqual([
      'respguard_config_reloads_total{result="failed"} 1',
      'respguard_config_reloads_total{result="ok"} 3',
    ]);
  });

  it('keeps secrets out of the log', () => {
    for (const secret of ['app-pw', 'second-pw', 'new-pw', 'third-pw']) expect(io.logs.text()).not.toContain(secret);
  });
});
