/**
 * Stateful sessions over pinned upstream connections: transactions, SELECT, blocking commands,
 * pub/sub in both protocols, tracking and CLIENT REPLY, with no state leaking to other clients
 * and no denied command reaching the upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { RawClient } from '../helpers/resp-client.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

const USERS = {
  alice: 'on >alicepw ~cache:* &news.* +@read +@write +@transaction +@connection +@blocking +@pubsub -@dangerous',
  writer: 'on >w-pass ~* &* +@all -@dangerous',
  admin: 'on >admin-pass ~* &* +@all',
};

let upstream: RedisServer;
let proxy: TestProxy;
let direct: RawClient;

beforeAll(async () => {
  upstream = await startRedis({ password: 'upstream-secret' });
  proxy = await startProxy(upstream, { users: USERS, maxPinned: 40 });
  direct = await RawClient.connect(upstream.port);
  expect(await direct.call(['AUTH', 'upstream-secret'])).toBe('+OK\r\n');
});

afterAll(async () => {
  direct?.close();
  await proxy?.stop();
  await upstream?.stop();
});

async function login(user = 'alice', password = 'alicepw'): Promise<RawClient> {
  const client = await RawClient.connect(proxy.port);
  expect(await client.call(['AUTH', user, password])).toBe('+OK\r\n');
  return client;
}

async function upstreamCalls(command: string): Promise<number> {
  const info = await direct.call(['INFO', 'commandstats']);
  const match = new RegExp(`cmdstat_${command.replace(/[|]/g, '\\|')}:calls=(\\d+)`).exec(info);
  return match ? Number(match[1]) : 0;
}

/** Lines of the upstream's CLIENT LIST for respguard's pinned connections. */
async function pinnedClients(): Promise<string[]> {
  const reply = await direct.call(['CLIENT', 'LIST']);
  return reply.split('\n').filter((line) => line.includes('name=respguard-pinned'));
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

describe('transactions', () => {
  it('runs MULTI and EXEC', async () => {
    const a = await login();
    expect(await a.call(['MULTI'])).toBe('+OK\r\n');
    expect(await a.call(['SET', 'cache:tx', '1'])).toBe('+QUEUED\r\n');
    expect(await a.call(['INCR', 'cache:tx'])).toBe('+QUEUED\r\n');
    expect(await a.call(['EXEC'])).toBe('*2\r\n+OK\r\n:2\r\n');
    expect(await a.call(['GET', 'cache:tx'])).toBe('$1\r\n2\r\n');
    a.close();
  });

  it('aborts EXEC after a denied command that never reaches the upstream', async () => {
    const getsBefore = await upstreamCalls('get');
    const a = await login();
    expect(await a.call(['MULTI'])).toBe('+OK\r\n');
    expect(await a.call(['SET', 'cache:tx2', '9'])).toBe('+QUEUED\r\n');
    expect(await a.call(['GET', 'secret:x'])).toBe('-NOPERM this user has no permissions to access one of the keys used as arguments\r\n');
    expect(await a.call(['EXEC'])).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    expect(await a.call(['GET', 'cache:tx2'])).toBe('$-1\r\n');
    expect(await upstreamCalls('get')).toBe(getsBefore + 1);
    a.close();
  });

  it('aborts EXEC after an unknown command', async () => {
    const a = await login();
    expect(await a.call(['MULTI'])).toBe('+OK\r\n');
    expect(await a.call(['NOSUCH'])).toBe("-ERR unknown command 'NOSUCH', with args beginning with: \r\n");
    expect(await a.call(['EXEC'])).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    a.close();
  });

  it('answers DISCARD and EXEC outside MULTI', async () => {
    const a = await login();
    expect(await a.call(['EXEC'])).toBe('-ERR EXEC without MULTI\r\n');
    expect(await a.call(['DISCARD'])).toBe('-ERR DISCARD without MULTI\r\n');
    expect(await a.call(['MULTI'])).toBe('+OK\r\n');
    expect(await a.call(['SET', 'cache:d', '1'])).toBe('+QUEUED\r\n');
    expect(await a.call(['DISCARD'])).toBe('+OK\r\n');
    expect(await a.call(['GET', 'cache:d'])).toBe('$-1\r\n');
    a.close();
  });

  it('fails EXEC when WATCHed key changed', async () => {
    const a = await login();
    const w = await login('writer', 'w-pass');
    expect(await a.call(['WATCH', 'cache:w'])).toBe('+OK\r\n');
    expect(await w.call(['SET', 'cache:w', 'other'])).toBe('+OK\r\n');
    expect(await a.call(['MULTI'])).toBe('+OK\r\n');
    expect(await a.call(['SET', 'cache:w', 'mine'])).toBe('+QUEUED\r\n');
    expect(await a.call(['EXEC'])).toBe('*-1\r\n');
    expect(await a.call(['GET', 'cache:w'])).toBe('$5\r\nother\r\n');
    a.close();
    w.close();
  });

  it('rejects commands respguard answers itself inside MULTI', async () => {
    const a = await login();
    expect(await a.call(['MULTI'])).toBe('+OK\r\n');
    expect(await a.call(['CLIENT', 'SETNAME', 'x'])).toBe("-ERR 'client|setname' inside MULTI is not supported by respguard; run it outside the transaction\r\n");
    expect(await a.call(['EXEC'])).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
    a.close();
  });

  it('leaves no open transaction after a disconnect', async () => {
    const a = await login();
    expect(await a.call(['SELECT', '5'])).toBe('+OK\r\n');
    expect(await a.call(['CLIENT', 'SETNAME', 'leaver'])).toBe('+OK\r\n');
    expect(await a.call(['MULTI'])).toBe('+OK\r\n');
    expect(await a.call(['SET', 'cache:left', '1'])).toBe('+QUEUED\r\n');
    a.close();
    expect(await waitFor(async () => (await pinnedClients()).every((line) => line.includes('multi=-1') && line.includes(' db=0 ')))).toBe(true);
    const b = await login();
    expect(await b.call(['GET', 'cache:left'])).toBe('$-1\r\n');
    expect(await b.call(['CLIENT', 'GETNAME'])).toBe('$-1\r\n');
    expect(await b.call(['EXEC'])).toBe('-ERR EXEC without MULTI\r\n');
    b.close();
  });

  it('aborts EXEC when a reload revoked a queued command', async () => {
    const a = await login('writer', 'w-pass');
    expect(await a.call(['MULTI'])).toBe('+OK\r\n');
    expect(await a.call(['SET', 'revoked:k', '1'])).toBe('+QUEUED\r\n');
    await proxy.reloadUsers({ ...USERS, writer: 'on >w-pass ~* &* +@all -@dangerous -set' });
    expect(await a.call(['EXEC'])).toBe(
      '-EXECABORT Transaction discarded because the ACL rules changed between the moment the transaction was accumulated and the EXEC call\r\n',
    );
    expect(await direct.call(['EXISTS', 'revoked:k'])).toBe(':0\r\n');
    await proxy.reloadUsers(USERS);
    a.close();
  });
});

describe('database isolation', () => {
  it('keeps SELECT and names per client', async () => {
    const w = await login('writer', 'w-pass');
    expect(await w.call(['SET', 'cache:probe', 'db0'])).toBe('+OK\r\n');
    const a = await login();
    expect(await a.call(['SELECT', '1'])).toBe('+OK\r\n');
    expect(await a.call(['SET', 'cache:probe', 'db1'])).toBe('+OK\r\n');
    expect(await a.call(['CLIENT', 'SETNAME', 'tenantA'])).toBe('+OK\r\n');
    const b = await login();
    expect(await b.call(['GET', 'cache:probe'])).toBe('$3\r\ndb0\r\n');
    expect(await b.call(['CLIENT', 'GETNAME'])).toBe('$-1\r\n');
    expect(await a.call(['GET', 'cache:probe'])).toBe('$3\r\ndb1\r\n');
    expect(await a.call(['CLIENT', 'GETNAME'])).toBe('$7\r\ntenantA\r\n');
    expect(await a.call(['SELECT', '0'])).toBe('+OK\r\n');
    expect(await a.call(['GET', 'cache:probe'])).toBe('$3\r\ndb0\r\n');
    expect(await direct.call(['SELECT', '1'])).toBe('+OK\r\n');
    expect(await direct.call(['GET', 'cache:probe'])).toBe('$3\r\ndb1\r\n');
    expect(await direct.call(['SELECT', '0'])).toBe('+OK\r\n');
    for (const client of [w, a, b]) client.close();
  });

  it('answers SELECT errors with Redis texts', async () => {
    const a = await login();
    expect(await a.call(['SELECT', 'x'])).toBe('-ERR value is not an integer or out of range\r\n');
    expect(await a.call(['SELECT', '-1'])).toBe('-ERR DB index is out of range\r\n');
    expect(await a.call(['SELECT', '99'])).toBe('-ERR DB index is out of range\r\n');
    expect(await a.call(['GET', 'cache:probe'])).toBe('$3\r\ndb0\r\n');
    a.close();
  });
});

describe('blocking commands', () => {
  it('do not delay other clients', async () => {
    const blockers = await Promise.all(Array.from({ length: 20 }, () => login()));
    blockers.forEach((client, i) => client.send(['BLPOP', `cache:q${i}`, '5']));
    await waitFor(async () => (await direct.call(['INFO', 'clients'])).includes('blocked_clients:20'));
    const b = await login();
    let slowest = 0;
    for (let i = 0; i < 20; i++) {
      const started = Date.now();
      expect(await b.call(['GET', 'cache:probe'])).toBe('$3\r\ndb0\r\n');
      slowest = Math.max(slowest, Date.now() - started);
    }
    expect(slowest).toBeLessThan(250);
    expect(await b.call(['RPUSH', 'cache:q3', 'job'])).toBe(':1\r\n');
    expect(await blockers[3]!.reply()).toBe('*2\r\n$8\r\ncache:q3\r\n$3\r\njob\r\n');
    expect(await blockers[3]!.call(['GET', 'cache:probe'])).toBe('$3\r\ndb0\r\n');
    for (const client of blockers) client.close();
    b.close();
  });

  it('answers a BLPOP timeout with a null array', async () => {
    const a = await login();
    expect(await a.call(['BLPOP', 'cache:empty', '0.1'])).toBe('*-1\r\n');
    a.close();
  });
});

describe('pub/sub', () => {
  it('delivers messages in RESP2 and checks channels', async () => {
    const sub = await login();
    const w = await login('writer', 'w-pass');
    expect(await sub.call(['SUBSCRIBE', 'news.x', 'news.y'])).toBe('*3\r\n$9\r\nsubscribe\r\n$6\r\nnews.x\r\n:1\r\n');
    expect(await sub.reply()).toBe('*3\r\n$9\r\nsubscribe\r\n$6\r\nnews.y\r\n:2\r\n');
    expect(await sub.call(['SUBSCRIBE', 'other'])).toBe('-NOPERM this user has no permissions to access one of the channels used as arguments\r\n');
    expect(await sub.call(['GET', 'cache:probe'])).toBe(
      "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    expect(await w.call(['PUBLISH', 'other', 'secret'])).toBe(':0\r\n');
    expect(await w.call(['PUBLISH', 'news.x', 'hi'])).toBe(':1\r\n');
    expect(await sub.reply()).toBe('*3\r\n$7\r\nmessage\r\n$6\r\nnews.x\r\n$2\r\nhi\r\n');
    expect(await sub.call(['PING'])).toBe('*2\r\n$4\r\npong\r\n$0\r\n\r\n');
    sub.send(['UNSUBSCRIBE']);
    // Redis unsubscribes in the order of its channel dictionary, which need not be the subscription order.
    const first = await sub.reply();
    const second = await sub.reply();
    expect([first.slice(0, -4), second.slice(0, -4)].sort()).toEqual([
      '*3\r\n$11\r\nunsubscribe\r\n$6\r\nnews.x\r\n',
      '*3\r\n$11\r\nunsubscribe\r\n$6\r\nnews.y\r\n',
    ]);
    expect(first.slice(-4)).toBe(':1\r\n');
    expect(second.slice(-4)).toBe(':0\r\n');
    expect(await sub.call(['GET', 'cache:probe'])).toBe('$3\r\ndb0\r\n');
    sub.close();
    w.close();
  });

  it('delivers pushes beside replies in RESP3', async () => {
    const sub = await RawClient.connect(proxy.port);
    expect((await sub.call(['HELLO', '3', 'AUTH', 'alice', 'alicepw'])).startsWith('%7\r\n')).toBe(true);
    const w = await login('writer', 'w-pass');
    expect(await sub.call(['SUBSCRIBE', 'news.z'])).toBe('>3\r\n$9\r\nsubscribe\r\n$6\r\nnews.z\r\n:1\r\n');
    expect(await sub.call(['GET', 'cache:probe'])).toBe('$3\r\ndb0\r\n');
    expect(await w.call(['PUBLISH', 'news.z', 'yo'])).toBe(':1\r\n');
    expect(await sub.reply()).toBe('>3\r\n$7\r\nmessage\r\n$6\r\nnews.z\r\n$2\r\nyo\r\n');
    expect(await sub.call(['PING'])).toBe('+PONG\r\n');
    expect(await sub.call(['UNSUBSCRIBE'])).toBe('>3\r\n$11\r\nunsubscribe\r\n$6\r\nnews.z\r\n:0\r\n');
    sub.close();
    w.close();
  });

  it('answers UNSUBSCRIBE without subscriptions locally', async () => {
    const a = await login();
    expect(await a.call(['UNSUBSCRIBE'])).toBe('*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n');
    expect(await a.call(['PUNSUBSCRIBE', 'news.*'])).toBe('*3\r\n$12\r\npunsubscribe\r\n$6\r\nnews.*\r\n:0\r\n');
    a.close();
  });

  it('matches PSUBSCRIBE patterns and delivers pmessage', async () => {
    const sub = await login();
    const w = await login('writer', 'w-pass');
    expect(await sub.call(['PSUBSCRIBE', 'news.*'])).toBe('*3\r\n$10\r\npsubscribe\r\n$6\r\nnews.*\r\n:1\r\n');
    expect(await w.call(['PUBLISH', 'news.q', 'p'])).toBe(':1\r\n');
    expect(await sub.reply()).toBe('*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$6\r\nnews.q\r\n$1\r\np\r\n');
    sub.close();
    w.close();
  });
});

describe('client-side caching', () => {
  it('sends RESP3 invalidation pushes', async () => {
    const r3 = await RawClient.connect(proxy.port);
    expect((await r3.call(['HELLO', '3', 'AUTH', 'alice', 'alicepw'])).startsWith('%7\r\n')).toBe(true);
    const w = await login('writer', 'w-pass');
    expect(await r3.call(['CLIENT', 'TRACKING', 'ON'])).toBe('+OK\r\n');
    expect(await r3.call(['GET', 'cache:t'])).toBe('_\r\n');
    expect(await w.call(['SET', 'cache:t', '2'])).toBe('+OK\r\n');
    expect(await r3.reply()).toBe('>2\r\n$10\r\ninvalidate\r\n*1\r\n$7\r\ncache:t\r\n');
    expect(await r3.call(['PING'])).toBe('+PONG\r\n');
    r3.close();
    w.close();
  });

  it('redirects RESP2 invalidations to another client', async () => {
    const receiver = await login();
    const id = (await receiver.call(['CLIENT', 'ID'])).slice(1, -2);
    expect(await receiver.call(['SUBSCRIBE', '__redis__:invalidate'])).toBe('-NOPERM this user has no permissions to access one of the channels used as arguments\r\n');
    receiver.close();
    const listener = await login('writer', 'w-pass');
    const listenerId = (await listener.call(['CLIENT', 'ID'])).slice(1, -2);
    expect(await listener.call(['SUBSCRIBE', '__redis__:invalidate'])).toBe('*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n');
    const tracked = await login();
    expect(await tracked.call(['CLIENT', 'TRACKING', 'ON', 'REDIRECT', id])).toBe('-ERR The client ID you want redirect to does not exist\r\n');
    expect(await tracked.call(['CLIENT', 'TRACKING', 'ON', 'REDIRECT', listenerId])).toBe('+OK\r\n');
    expect(await tracked.call(['GET', 'cache:r'])).toBe('$-1\r\n');
    const w = await login('writer', 'w-pass');
    expect(await w.call(['SET', 'cache:r', '1'])).toBe('+OK\r\n');
    expect(await listener.reply()).toBe('*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$7\r\ncache:r\r\n');
    for (const client of [listener, tracked, w]) client.close();
  });

  it('answers CLIENT CACHING without tracking', async () => {
    const a = await login();
    expect(await a.call(['CLIENT', 'CACHING', 'yes'])).toBe(
      '-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n',
    );
    a.close();
  });
});

describe('CLIENT REPLY', () => {
  it('drops replies while OFF and for SKIP', async () => {
    const a = await login();
    a.send(['CLIENT', 'REPLY', 'OFF']).send(['SET', 'cache:silent', '1']).send(['CLIENT', 'REPLY', 'ON']);
    expect(await a.reply()).toBe('+OK\r\n');
    a.send(['CLIENT', 'REPLY', 'SKIP']).send(['GET', 'cache:silent']).send(['GET', 'cache:silent']);
    expect(await a.reply()).toBe('$1\r\n1\r\n');
    expect(await a.call(['PING'])).toBe('+PONG\r\n');
    a.close();
  });
});

describe('MONITOR', () => {
  it('streams commands to a permitted user and is denied to others', async () => {
    const a = await login();
    expect(await a.call(['MONITOR'])).toBe("-NOPERM this user has no permissions to run the 'monitor' command\r\n");
    a.close();
    const admin = await login('admin', 'admin-pass');
    expect(await admin.call(['MONITOR'])).toBe('+OK\r\n');
    const w = await login('writer', 'w-pass');
    expect(await w.call(['GET', 'cache:monitored'])).toBe('$-1\r\n');
    let line = '';
    for (let i = 0; i < 5 && !line.includes('cache:monitored'); i++) line = await admin.reply();
    expect(line).toMatch(/^\+\d+\.\d+ \[0 127\.0\.0\.1:\d+\] "GET" "cache:monitored"\r\n$/);
    admin.close();
    w.close();
  });
});

describe('pinned connections', () => {
  it('reject stateful commands past maxPinned', async () => {
    const holders = await Promise.all(Array.from({ length: 40 }, () => login()));
    for (const holder of holders) expect(await holder.call(['SELECT', '2'])).toBe('+OK\r\n');
    const extra = await login();
    expect(await extra.call(['MULTI'])).toBe(
      "-ERR respguard has no upstream connection free for 'multi': all 40 connections for transactions, pub/sub and blocking commands are in use (upstream.pool.maxPinned); try again later\r\n",
    );
    expect(await extra.call(['GET', 'cache:probe'])).toBe('$3\r\ndb0\r\n');
    expect(await holders[0]!.call(['SELECT', '0'])).toBe('+OK\r\n');
    expect(await waitFor(async () => (await extra.call(['MULTI'])) === '+OK\r\n')).toBe(true);
    expect(await extra.call(['DISCARD'])).toBe('+OK\r\n');
    for (const client of [...holders, extra]) client.close();
  });

  it('disconnect only their client when they fail', async () => {
    const a = await login();
    const b = await login();
    expect(await a.call(['SELECT', '3'])).toBe('+OK\r\n');
    expect(await a.call(['CLIENT', 'SETNAME', 'victim'])).toBe('+OK\r\n');
    const pinned = await pinnedClients();
    const victim = pinned.find((line) => line.includes(' db=3 '));
    expect(victim).toBeDefined();
    const upstreamId = /id=(\d+)/.exec(victim!)![1]!;
    expect(await direct.call(['CLIENT', 'KILL', 'ID', upstreamId])).toBe(':1\r\n');
    expect(await a.waitClosed()).toBe(true);
    expect(await b.call(['GET', 'cache:probe'])).toBe('$3\r\ndb0\r\n');
    b.close();
  });
});

describe('connection commands while pinned', () => {
  it('RESET leaves the database, transaction and subscriptions', async () => {
    const a = await login();
    expect(await a.call(['SELECT', '4'])).toBe('+OK\r\n');
    expect(await a.call(['SET', 'cache:reset', 'db4'])).toBe('+OK\r\n');
    expect(await a.call(['MULTI'])).toBe('+OK\r\n');
    expect(await a.call(['RESET'])).toBe('+RESET\r\n');
    expect(await a.call(['AUTH', 'alice', 'alicepw'])).toBe('+OK\r\n');
    expect(await a.call(['GET', 'cache:reset'])).toBe('$-1\r\n');
    expect(await a.call(['EXEC'])).toBe('-ERR EXEC without MULTI\r\n');
    a.close();
  });

  it('HELLO switches the protocol of a pinned session', async () => {
    const a = await login();
    expect(await a.call(['SELECT', '4'])).toBe('+OK\r\n');
    expect((await a.call(['HELLO', '3'])).startsWith('%7\r\n')).toBe(true);
    expect(await a.call(['GET', 'cache:nothing'])).toBe('_\r\n');
    expect(await a.call(['GET', 'cache:reset'])).toBe('$3\r\ndb4\r\n');
    expect((await a.call(['HELLO', '2'])).startsWith('*14\r\n')).toBe(true);
    expect(await a.call(['GET', 'cache:nothing'])).toBe('$-1\r\n');
    a.close();
  });

  it('QUIT answers what came before it', async () => {
    const a = await login();
    a.send(['BLPOP', 'cache:quitq', '0.2']).send(['QUIT']);
    expect(await a.reply()).toBe('*-1\r\n');
    expect(await a.reply()).toBe('+OK\r\n');
    expect(await a.waitClosed()).toBe(true);
  });
});
