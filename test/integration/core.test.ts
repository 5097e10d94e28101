/**
 * The proxy end to end over plain TCP: authentication, authorization, the blocklist, commands
 * answered by respguard itself, and the proof that nothing denied reaches the upstream.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandTable } from '../../src/commands/table.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let upstream: RedisServer;
let proxy: TestProxy;
let direct: RawClient;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, {
    users: {
      writer: 'on >w-pass ~* &* +@all -@dangerous',
      reader: `on #${sha256('r-pass')} ~cache:* +get +mget +scan`,
      admin: 'on >admin-pass ~* &* +@all',
      disabled: 'off >off-pass ~* +@all',
    },
  });
  direct = await RawClient.connect(upstream.port);
  expect(await direct.call(['AUTH', 'upstream-secret'])).toBe('+OK\r\n');
});

afterAll(async () => {
  direct?.close();
  await proxy?.stop();
  await upstream?.stop();
});

async function login(user: string, password: string): Promise<RawClient> {
  const client = await RawClient.connect(proxy.port);
  expect(await client.call(['AUTH', user, password])).toBe('+OK\r\n');
  return client;
}

/** Calls of one command recorded by the upstream's INFO commandstats, 0 when never called. */
async function upstreamCalls(command: string): Promise<number> {
  const info = await direct.call(['INFO', 'commandstats']);
  const escaped = command.replace(/[|]/g, '\\|');
  const match = new RegExp(`cmdstat_${escaped}:calls=(\\d+)`).exec(info);
  return match ? Number(match[1]) : 0;
}

describe('authentication', () => {
  it('rejects commands before AUTH with NOAUTH', async () => {
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['GET', 'cache:k'])).toBe('-NOAUTH Authentication required.\r\n');
    expect(await client.call(['PING'])).toBe('-NOAUTH Authentication required.\r\n');
    client.close();
  });

  it('rejects a wrong password with WRONGPASS', async () => {
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['AUTH', 'reader', 'nope'])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    expect(await client.call(['AUTH', 'nobody', 'nope'])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    expect(await client.call(['AUTH', 'disabled', 'off-pass'])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    expect(await client.call(['AUTH', 'w-pass'])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    client.close();
  });

  it('accepts plaintext and sha256 passwords', async () => {
    const writer = await login('writer', 'w-pass');
    const reader = await login('reader', 'r-pass');
    expect(await writer.call(['ACL', 'WHOAMI'])).toBe('$6\r\nwriter\r\n');
    expect(await reader.call(['PING'])).toBe("-NOPERM this user has no permissions to run the 'ping' command\r\n");
    writer.close();
    reader.close();
  });

  it('keeps the current user after a failed AUTH', async () => {
    const client = await login('writer', 'w-pass');
    expect(await client.call(['AUTH', 'admin', 'wrong'])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    expect(await client.call(['ACL', 'WHOAMI'])).toBe('$6\r\nwriter\r\n');
    client.close();
  });

  it('authenticates with HELLO 3 AUTH and replies with a RESP3 map', async () => {
    const client = await RawClient.connect(proxy.port);
    const reply = await client.call(['HELLO', '3', 'AUTH', 'writer', 'w-pass', 'SETNAME', 'app1']);
    expect(reply).toMatch(/^%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n\$\d+\r\n7\.0\.\d+\r\n\$5\r\nproto\r\n:3\r\n\$2\r\nid\r\n:\d+\r\n\$4\r\nmode\r\n\$10\r\nstandalone\r\n\$4\r\nrole\r\n\$6\r\nmaster\r\n\$7\r\nmodules\r\n\*0\r\n$/);
    expect(await client.call(['CLIENT', 'GETNAME'])).toBe('$4\r\napp1\r\n');
    expect(await client.call(['GET', 'cache:none'])).toBe('_\r\n');
    client.close();
  });

  it('answers HELLO errors with Redis texts', async () => {
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['HELLO', '3'])).toBe(
      '-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n',
    );
    expect(await client.call(['HELLO', '4'])).toBe('-NOPROTO unsupported protocol version\r\n');
    expect(await client.call(['HELLO', 'x'])).toBe('-ERR Protocol version is not an integer or out of range\r\n');
    expect(await client.call(['HELLO', '2', 'AUTH', 'writer', 'bad'])).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    client.close();
  });

  it('allows QUIT before authentication and closes', async () => {
    const client = await RawClient.connect(proxy.port);
    expect(await client.call(['QUIT'])).toBe('+OK\r\n');
    expect(await client.waitClosed()).toBe(true);
  });
});

describe('authorization', () => {
  it('forwards permitted commands', async () => {
    const writer = await login('writer', 'w-pass');
    expect(await writer.call(['SET', 'cache:k', 'v'])).toBe('+OK\r\n');
    expect(await writer.call(['GET', 'cache:k'])).toBe('$1\r\nv\r\n');
    writer.close();
    const reader = await login('reader', 'r-pass');
    expect(await reader.call(['GET', 'cache:k'])).toBe('$1\r\nv\r\n');
    reader.close();
  });

  it('denies a command outside the rules with NOPERM', async () => {
    const reader = await login('reader', 'r-pass');
    expect(await reader.call(['SET', 'cache:k', 'x'])).toBe("-NOPERM this user has no permissions to run the 'set' command\r\n");
    expect(await reader.call(['GET', 'other'])).toBe('-NOPERM this user has no permissions to access one of the keys used as arguments\r\n');
    expect(await reader.call(['MGET', 'cache:a', 'other'])).toBe('-NOPERM this user has no permissions to access one of the keys used as arguments\r\n');
    expect(await reader.call(['GET', 'cache:k'])).toBe('$1\r\nv\r\n');
    reader.close();
  });

  it('blocks FLUSHALL for a user whose rules allow it', async () => {
    const admin = await login('admin', 'admin-pass');
    const reply = await admin.call(['FLUSHALL']);
    expect(reply.startsWith('-ERR ')).toBe(true);
    expect(reply).toContain('flushall');
    expect(reply).toContain('respguard');
    admin.close();
  });

  it('never sends denied or blocked commands upstream', async () => {
    const setsBefore = await upstreamCalls('set');
    const reader = await login('reader', 'r-pass');
    const admin = await login('admin', 'admin-pass');
    for (let i = 0; i < 5; i++) expect((await reader.call(['SET', 'cache:k', String(i)])).startsWith('-NOPERM')).toBe(true);
    expect((await admin.call(['FLUSHALL'])).startsWith('-ERR')).toBe(true);
    expect((await admin.call(['CONFIG', 'GET', 'requirepass'])).startsWith('-ERR')).toBe(true);
    expect(await upstreamCalls('set')).toBe(setsBefore);
    expect(await upstreamCalls('flushall')).toBe(0);
    expect(await upstreamCalls('config|get')).toBe(0);
    expect(await direct.call(['GET', 'cache:k'])).toBe('$1\r\nv\r\n');
    reader.close();
    admin.close();
  });

  it('answers unknown commands and wrong arity without the upstream', async () => {
    const writer = await login('writer', 'w-pass');
    expect(await writer.call(['NOSUCHCMD', 'secret-arg'])).toBe("-ERR unknown command 'NOSUCHCMD', with args beginning with: \r\n");
    expect(await writer.call(['GET'])).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(await writer.call(['CLIENT', 'NOSUCH'])).toBe("-ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.\r\n");
    expect(await upstreamCalls('nosuchcmd')).toBe(0);
    writer.close();
  });
});

describe('session-local commands', () => {
  it('keeps client names per session', async () => {
    const a = await login('writer', 'w-pass');
    const b = await login('writer', 'w-pass');
    expect(await a.call(['CLIENT', 'SETNAME', 'alpha'])).toBe('+OK\r\n');
    expect(await a.call(['CLIENT', 'GETNAME'])).toBe('$5\r\nalpha\r\n');
    expect(await b.call(['CLIENT', 'GETNAME'])).toBe('$-1\r\n');
    expect(await a.call(['CLIENT', 'SETNAME', 'has space'])).toBe('-ERR Client names cannot contain spaces, newlines or special characters.\r\n');
    a.close();
    b.close();
  });

  it('returns RESET to the unauthenticated state', async () => {
    const client = await login('writer', 'w-pass');
    expect(await client.call(['RESET'])).toBe('+RESET\r\n');
    expect(await client.call(['GET', 'k'])).toBe('-NOAUTH Authentication required.\r\n');
    client.close();
  });
});

describe('protocol errors', () => {
  it('closes after an invalid multibulk length', async () => {
    const client = await login('writer', 'w-pass');
    client.send('*abc\r\n');
    expect(await client.reply()).toBe('-ERR Protocol error: invalid multibulk length\r\n');
    expect(await client.waitClosed()).toBe(true);
  });

  it('applies the pre-auth argument limit', async () => {
    const client = await RawClient.connect(proxy.port);
    client.send(['AUTH', ...Array.from({ length: 11 }, () => 'x')]);
    expect(await client.reply()).toBe('-ERR Protocol error: unauthenticated multibulk length\r\n');
    expect(await client.waitClosed()).toBe(true);
  });

  it('closes silently on a cross-protocol POST', async () => {
    const client = await RawClient.connect(proxy.port);
    client.send('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await client.reply()).toBe('CLOSED');
  });

  it('runs inline commands', async () => {
    const client = await RawClient.connect(proxy.port);
    client.send('AUTH writer w-pass\r\n');
    expect(await client.reply()).toBe('+OK\r\n');
    client.send('SET cache:inline "two words"\r\nGET cache:inline\r\n');
    expect(await client.reply()).toBe('+OK\r\n');
    expect(await client.reply()).toBe('$9\r\ntwo words\r\n');
    client.close();
  });
});

describe('command table', () => {
  it('is refreshed from the upstream COMMAND reply', async () => {
    const deadline = Date.now() + 5000;
    while (proxy.server.context.table === CommandTable.default() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(proxy.server.context.table).not.toBe(CommandTable.default());
    expect(proxy.server.context.table.size).toBe(CommandTable.default().size);
    expect(proxy.logs.lines.some((line) => line.msg === 'command table refreshed from the upstream')).toBe(true);
  });
});

describe('logs', () => {
  it('never contain passwords', () => {
    const text = proxy.logs.text();
    for (const secret of ['w-pass', 'r-pass', 'admin-pass', 'upstream-secret', 'nope', 'off-pass']) {
      expect(text.includes(secret), secret).toBe(false);
    }
    expect(proxy.logs.lines.some((line) => line.event === 'auth_failed' && line.reason === 'password mismatch')).toBe(true);
    expect(proxy.logs.lines.some((line) => line.event === 'denied' && line.user === 'reader' && line.command === 'set')).toBe(true);
    expect(proxy.logs.lines.some((line) => line.event === 'start' && line.users === 4)).toBe(true);
    expect(proxy.logs.lines.some((line) => line.msg === 'upstream connected' && line.protocol === 2)).toBe(true);
    expect(proxy.logs.lines.some((line) => line.msg === 'upstream connected' && line.protocol === 3)).toBe(true);
  });
});
