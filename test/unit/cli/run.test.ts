import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { freePort, startRedis, waitForPort, type RedisServer } from '../../helpers/redis-server.js';
import { RawClient } from '../../helpers/resp-client.js';
import { makeConfigDir, makeIo, type TestIo } from './helpers.js';

function configText(port: number, upstreamPort: number, users: Record<string, string>): string {
  const userLines = Object.entries(users)
    .map(([name, acl]) => `  ${name}: { acl: ${JSON.stringify(acl)} }\n`)
    .join('');
  return `listeners:\n  - { host: 127.0.0.1, port: ${port} }\nupstream: { host: 127.0.0.1, port: ${upstreamPort} }\nshutdownTimeoutMs: 2000\nusers:\n${userLines}`;
}

/** Waits until a log line matches every field of `fields`, and returns it. */
async function waitForLog(io: TestIo, fields: Record<string, unknown>, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = io.logs.lines.find((entry) => Object.entries(fields).every(([key, value]) => entry[key] === value));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no log line with ${JSON.stringify(fields)} in:\n${io.logs.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function authenticate(port: number, user: string, password: string): Promise<string> {
  const client = await RawClient.connect(port);
  try {
    return await client.call(['AUTH', user, password]);
  } finally {
    client.close();
  }
}

describe('run', () => {
  const configs = makeConfigDir();
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
    configs.remove();
  });

  it('serves, reloads and stops on signals', async () => {
    const port = await freePort();
    const file = configs.write('run.yaml', configText(port, redis.port, { app: 'on >app-pw ~* +@all' }));
    const io = makeIo();
    const exit = main(['--config', file], io);
    await waitForPort(port);

    const client = await RawClient.connect(port);
    expect(await client.call(['AUTH', 'app', 'app-pw'])).toBe('+OK\r\n');
    expect(await client.call(['SET', 'cli:run', 'v1'])).toBe('+OK\r\n');
    expect(await client.call(['GET', 'cli:run'])).toBe('$2\r\nv1\r\n');
    client.close();

    configs.write('run.yaml', configText(port, redis.port, { app: 'on >app-pw ~* +@all', second: 'on >second-pw +ping' }));
    io.signals.emit('SIGHUP');
    await waitForLog(io, { event: 'reload', result: 'ok', msg: 'config reload applied' });
    expect(await authenticate(port, 'second', 'second-pw')).toBe('+OK\r\n');

    configs.write('run.yaml', 'listeners: [\n');
    io.signals.emit('SIGHUP');
    const failure = await waitForLog(io, { event: 'reload', result: 'failed' });
    expect(failure.level).toBe(50);
    expect(failure.error).toBe(`${file}:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]`);
    expect(await authenticate(port, 'second', 'second-pw')).toBe('+OK\r\n');

    io.signals.emit('SIGTERM');
    expect(await exit).toBe(0);
    expect(io.shutdowns).toEqual([0]);
    expect(io.signals.listenerCount('SIGTERM')).toBe(0);
    expect(io.signals.listenerCount('SIGHUP')).toBe(0);
    await expect(RawClient.connect(port)).rejects.toThrow('ECONNREFUSED');
  });

  it('keeps the config when reload fails to compile', async () => {
    const port = await freePort();
    const file = configs.write('compile.yaml', configText(port, redis.port, { app: 'on >app-pw ~* +@all' }));
    const io = makeIo();
    const exit = main(['run', '-c', file], io);
    await waitForPort(port);

    configs.write('compile.yaml', configText(port, redis.port, { app: 'on >new-pw ~* +@nosuchcategory' }));
    io.signals.emit('SIGHUP');
    const failure = await waitForLog(io, { event: 'reload', result: 'failed' });
    expect(failure.error).toBe(
      `${file}: users.app.acl: user "app": Error in ACL SETUSER modifier '+@nosuchcategory': Unknown command or category name in ACL`,
    );
    expect(await authenticate(port, 'app', 'app-pw')).toBe('+OK\r\n');

    io.signals.emit('SIGINT');
    expect(await exit).toBe(0);
  });

  it('reports a port in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const file = configs.write('busy.yaml', configText(port, redis.port, { app: 'on >pw ~* +@all' }));
      const io = makeIo();
      expect(await main(['--config', file], io)).toBe(1);
      expect(io.stderrText()).toBe(
        `respguard: cannot listen on 127.0.0.1:${port}: the address is already in use: stop the process that uses it or change the port in ${file}\n`,
      );
      const fatal = await waitForLog(io, { event: 'start', msg: 'respguard failed to start' });
      expect(fatal.level).toBe(60);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('reports an invalid config', async () => {
    const file = configs.write('invalid.yaml', 'listeners:\n  - { host: 127.0.0.1, port: 0 }\nusers:\n  app: { acl: "on >x" }\n');
    const io = makeIo();
    expect(await main(['--config', file], io)).toBe(1);
    expect(io.stderrText()).toBe(`${file}: listeners[0].port: invalid value "0": expected an integer from 1 to 65535\n`);
    expect(io.logs.lines).toEqual([]);
  });

  it('takes the config as FILE', async () => {
    const file = configs.write('positional.yaml', 'listeners:\n  - { host: 127.0.0.1, port: 0 }\nusers:\n  app: { acl: "on >x" }\n');
    const io = makeIo();
    expect(await main(['run', file], io)).toBe(1);
    expect(io.stderrText()).toBe(`${file}: listeners[0].port: invalid value "0": expected an integer from 1 to 65535\n`);
  });
});
