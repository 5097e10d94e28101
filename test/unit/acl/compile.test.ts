import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileUser } from '../../../src/acl/compile.js';
import type { CompiledUser, Decision } from '../../../src/acl/types.js';
import { CommandTable } from '../../../src/commands/table.js';
import { COMMAND_RECORDS } from '../../../src/commands/table.generated.js';
import type { CommandInfo } from '../../../src/commands/types.js';
import { RespguardError } from '../../../src/errors.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { errorText, RedisQuery } from '../../helpers/redis-query.js';

const table = CommandTable.default();

function check(user: CompiledUser, ...request: string[]): Decision {
  const args = request.map((arg) => Buffer.from(arg, 'latin1'));
  const lookup = table.resolve(args);
  if (lookup.kind !== 'ok') throw new Error(`request ${request.join(' ')} does not resolve: ${lookup.kind}`);
  return user.check(lookup.command, args);
}

function allowed(rules: string, ...request: string[]): boolean {
  return check(compileUser('test', rules, table), ...request).allowed;
}

function compileError(rules: string, name = 'test'): string {
  try {
    compileUser(name, rules, table);
  } catch (error) {
    expect(error).toBeInstanceOf(RespguardError);
    expect((error as RespguardError).code).toBe('RG_ERR_ACL_RULE');
    return (error as Error).message;
  }
  throw new Error(`rules ${JSON.stringify(rules)} compiled without an error`);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

const MODULE_COMMAND: CommandInfo = {
  id: 100_000,
  name: 'mymodule.run',
  arity: -1,
  flags: new Set(),
  categories: new Set(),
  keySpecs: [],
};

describe('compileUser defaults and flags', () => {
  it('starts off with nothing allowed', () => {
    const user = compileUser('app', '', table);
    expect(user.name).toBe('app');
    expect(user.enabled).toBe(false);
    expect(user.nopass).toBe(false);
    expect(user.passwordHashes).toEqual([]);
    expect(check(user, 'get', 'k')).toEqual({ allowed: false, reason: 'command', command: 'get' });
    expect(check(user, 'ping').allowed).toBe(false);
  });

  it('applies on and off in order', () => {
    expect(compileUser('a', 'on', table).enabled).toBe(true);
    expect(compileUser('a', 'on off', table).enabled).toBe(false);
    expect(compileUser('a', 'off ON', table).enabled).toBe(true);
  });

  it('accepts the sanitize-payload flags', () => {
    expect(compileUser('a', 'sanitize-payload skip-sanitize-payload on', table).enabled).toBe(true);
  });

  it('lets no_auth commands through', () => {
    const user = compileUser('a', 'nocommands', table);
    expect(check(user, 'auth', 'pw')).toEqual({ allowed: true });
    expect(check(user, 'hello', '3')).toEqual({ allowed: true });
    expect(check(user, 'quit')).toEqual({ allowed: true });
    expect(check(user, 'reset')).toEqual({ allowed: true });
  });
});

describe('compileUser passwords', () => {
  it('stores SHA-256 digests once each', () => {
    const user = compileUser('a', '>one >two >one', table);
    expect(user.passwordHashes).toEqual([sha256('one'), sha256('two')]);
    expect(user.nopass).toBe(false);
  });

  it('adds and removes by hash', () => {
    const hex = sha256('three').toString('hex');
    expect(compileUser('a', `#${hex}`, table).passwordHashes).toEqual([sha256('three')]);
    expect(compileUser('a', `#${hex} >x !${hex}`, table).passwordHashes).toEqual([sha256('x')]);
    expect(compileUser('a', '>x >y <x', table).passwordHashes).toEqual([sha256('y')]);
  });

  it('hashes passwords as UTF-8', () => {
    expect(compileUser('a', '>pässwörd', table).passwordHashes).toEqual([sha256('pässwörd')]);
  });

  it('clears passwords on nopass and resetpass', () => {
    const nopass = compileUser('a', '>x nopass', table);
    expect(nopass.nopass).toBe(true);
    expect(nopass.passwordHashes).toEqual([]);
    const again = compileUser('a', 'nopass >x', table);
    expect(again.nopass).toBe(false);
    expect(again.passwordHashes).toEqual([sha256('x')]);
    const reset = compileUser('a', '>x nopass resetpass', table);
    expect(reset.nopass).toBe(false);
    expect(reset.passwordHashes).toEqual([]);
  });

  it('hides a missing password in the error', () => {
    expect(compileError('>x <secret-value')).toBe(
      `user "test": Error in ACL SETUSER modifier '<***': The password you are trying to remove from the user does not exist`,
    );
  });
});

describe('compileUser command rules', () => {
  it('applies rules in order', () => {
    expect(allowed('+@all -@dangerous', 'flushdb')).toBe(false);
    expect(allowed('+@all -@dangerous +flushdb', 'flushdb')).toBe(true);
    expect(allowed('+flushdb -@dangerous', 'flushdb')).toBe(false);
    expect(allowed('+get -get +get ~*', 'get', 'k')).toBe(true);
  });

  it('allows every subcommand of an allowed container', () => {
    expect(allowed('+config', 'config', 'set', 'maxmemory', '1')).toBe(true);
    expect(allowed('+config -config|set', 'config', 'set', 'maxmemory', '1')).toBe(false);
    expect(allowed('+config -config|set', 'config', 'get', 'maxmemory')).toBe(true);
    expect(allowed('+config|get', 'config', 'get', 'maxmemory')).toBe(true);
    expect(allowed('+config|get', 'config', 'set', 'maxmemory', '1')).toBe(false);
  });

  it('reports a subcommand by its full name', () => {
    const user = compileUser('a', '+config|get', table);
    expect(check(user, 'config', 'set', 'maxmemory', '1')).toEqual({ allowed: false, reason: 'command', command: 'config|set' });
  });

  it('allows first arguments case-insensitively', () => {
    expect(allowed('+select|0', 'select', '0')).toBe(true);
    expect(allowed('+select|0', 'select', '1')).toBe(false);
    expect(allowed('+debug|object ~*', 'debug', 'OBJECT', 'k')).toBe(true);
    expect(allowed('+select|0 -select', 'select', '0')).toBe(false);
    expect(allowed('+select|0 +@all -@all', 'select', '0')).toBe(false);
  });

  it('allows module commands only after +@all', () => {
    const user = (rules: string): CompiledUser => compileUser('a', rules, table);
    expect(user('+@all').check(MODULE_COMMAND, [Buffer.from('mymodule.run')])).toEqual({ allowed: true });
    expect(user('allcommands -get -@read').check(MODULE_COMMAND, [Buffer.from('mymodule.run')]).allowed).toBe(true);
    expect(user('+@all -@all +get').check(MODULE_COMMAND, [Buffer.from('mymodule.run')])).toEqual({
      allowed: false,
      reason: 'command',
      command: 'mymodule.run',
    });
    expect(user('+@all nocommands').check(MODULE_COMMAND, []).allowed).toBe(false);
  });

  it('finds commands of another table by name', () => {
    const other = CommandTable.fromRecords(COMMAND_RECORDS);
    const user = compileUser('a', '+get ~*', table);
    const args = [Buffer.from('get'), Buffer.from('k')];
    const lookup = other.resolve(args);
    expect(lookup.kind).toBe('ok');
    if (lookup.kind !== 'ok') return;
    expect(lookup.command).not.toBe(table.get('get'));
    expect(user.check(lookup.command, args)).toEqual({ allowed: true });
  });

  it('reset returns to the defaults', () => {
    const user = compileUser('a', 'on >x +@all ~* &* (+get ~*) reset', table);
    expect(user.enabled).toBe(false);
    expect(user.passwordHashes).toEqual([]);
    expect(check(user, 'get', 'k').allowed).toBe(false);
  });

  it('clearselectors keeps the root rules', () => {
    const user = compileUser('a', '+set ~* (+get ~*) clearselectors', table);
    expect(check(user, 'get', 'k').allowed).toBe(false);
    expect(check(user, 'set', 'k', 'v').allowed).toBe(true);
  });
});

describe('compileUser key and channel rules', () => {
  it('maps key flags to read and write patterns', () => {
    expect(allowed('%R~r:* +@all', 'get', 'r:1')).toBe(true);
    expect(allowed('%R~r:* +@all', 'set', 'r:1', 'v')).toBe(false);
    expect(allowed('%W~w:* +@all', 'set', 'w:1', 'v')).toBe(true);
    expect(allowed('%W~w:* +@all', 'get', 'w:1')).toBe(false);
    expect(allowed('%R~a %W~b +@all', 'copy', 'a', 'b')).toBe(true);
    expect(allowed('%R~a %W~b +@all', 'copy', 'b', 'a')).toBe(false);
  });

  it('lets a key without access flags match any pattern', () => {
    // EXISTS marks its keys RO without ACCESS, so a write-only pattern allows them.
    expect(allowed('%W~w:* +@all', 'exists', 'w:1')).toBe(true);
  });

  it('denies the empty key unless all keys are allowed', () => {
    expect(allowed('%R~* +get', 'get', '')).toBe(false);
    expect(allowed('~* +get', 'get', '')).toBe(true);
    expect(allowed('allkeys +get', 'get', '')).toBe(true);
  });

  it('names the denied key', () => {
    const user = compileUser('a', '~a* +mget', table);
    expect(check(user, 'mget', 'a1', 'b1', 'c1')).toEqual({ allowed: false, reason: 'key', command: 'mget', argIndex: 2, selector: 0 });
  });

  it('resets keys and channels', () => {
    expect(allowed('allkeys resetkeys +get', 'get', 'k')).toBe(false);
    expect(allowed('allchannels resetchannels +publish', 'publish', 'c', 'm')).toBe(false);
    expect(allowed('~k resetkeys allkeys +get', 'get', 'x')).toBe(true);
  });

  it('matches channels and literal psubscribe patterns', () => {
    expect(allowed('&news.* +publish', 'publish', 'news.1', 'm')).toBe(true);
    expect(allowed('&news.* +psubscribe', 'psubscribe', 'news.*')).toBe(true);
    expect(allowed('&news.* +psubscribe', 'psubscribe', 'news.1')).toBe(false);
    expect(allowed('+unsubscribe', 'unsubscribe', 'any')).toBe(true);
  });

  it('names the denied channel', () => {
    const user = compileUser('a', '&a +subscribe', table);
    expect(check(user, 'subscribe', 'a', 'b')).toEqual({ allowed: false, reason: 'channel', command: 'subscribe', argIndex: 2, selector: 0 });
  });
});

describe('compileUser selectors', () => {
  it('allows through any selector', () => {
    const user = compileUser('a', '+get ~a* (+set ~b*)', table);
    expect(check(user, 'get', 'a1').allowed).toBe(true);
    expect(check(user, 'set', 'b1', 'v').allowed).toBe(true);
    expect(check(user, 'set', 'a1', 'v')).toEqual({ allowed: false, reason: 'key', command: 'set', argIndex: 1, selector: 1 });
  });

  it('reports the latest denied key across selectors', () => {
    const user = compileUser('a', '+mget ~a (+mget ~b)', table);
    expect(check(user, 'mget', 'a', 'c')).toEqual({ allowed: false, reason: 'key', command: 'mget', argIndex: 2, selector: 0 });
  });

  it('prefers a channel denial to a key denial', () => {
    const user = compileUser('a', '+publish &a (+publish allchannels) (+get)', table);
    expect(check(user, 'publish', 'b', 'm')).toEqual({ allowed: true });
    const strict = compileUser('a', '+get ~a (+publish &a)', table);
    expect(check(strict, 'publish', 'b', 'm')).toEqual({ allowed: false, reason: 'channel', command: 'publish', argIndex: 1, selector: 1 });
  });

  it('reads quoted words inside a selector', () => {
    expect(allowed('(~"cache:*" +get)', 'get', 'cache:1')).toBe(true);
    expect(allowed("(~'x' +get)", 'get', 'x')).toBe(true);
    expect(allowed('(~"\\x41" +get)', 'get', 'A')).toBe(true);
  });

  it('leaves an unsplittable selector empty', () => {
    const user = compileUser('a', '+set ~* ("open +get)', table);
    expect(check(user, 'get', 'k').allowed).toBe(false);
    expect(check(user, 'set', 'k', 'v').allowed).toBe(true);
  });

  it('restarts a selector at a new parenthesis', () => {
    expect(allowed('(+set (+get ~*)', 'get', 'k')).toBe(true);
    expect(allowed('(+set (+get ~*)', 'set', 'k', 'v')).toBe(false);
  });
});

describe('compileUser errors', () => {
  it('names the user and the modifier', () => {
    expect(compileError('+nosuchcommand', 'app')).toBe(
      `user "app": Error in ACL SETUSER modifier '+nosuchcommand': Unknown command or category name in ACL`,
    );
  });

  it('rejects a user name with spaces', () => {
    expect(compileError('on', 'a b')).toBe(`user "a b": Usernames can't contain spaces or null characters`);
  });

  it('reports an unmatched parenthesis', () => {
    expect(compileError('on (+get ~a')).toBe(`user "test": Unmatched parenthesis in acl selector starting at '(+get'.`);
  });
});

/** Rule strings that Redis 7.0.15 rejects; each compile error must carry the server's text. */
const REJECTED_RULES: readonly string[] = [
  '+nosuchcommand', '-nosuch', '+@nosuch', '-@nosuch', '+', '-', '+@', '-@', '+|', '+get|', '+config|',
  '+config|get|x', '+config|nosuch', '-select|0', '+get|a|b', 'bogus', 'allkeys ~foo', '~* ~foo', '~* %R~foo',
  'allchannels &foo', '&* &foo', '%', '%~', '%~foo', '%RX~a', '%RR~a', '%WW', '<nosuchpass',
  `!${'0'.repeat(64)}`, '#abc', `#${'A'.repeat(64)}`, `#${'g'.repeat(64)}`, `#${'a'.repeat(65)}`, '(+get', '(+get ~a',
  '(+nosuch ~x)', '(on)', '(>pw)', '(reset)', '(nopass)', '(clearselectors)', ')', 'on )', '(~a) (%X~b)',
  '("" +get)', '(~"a b" +get)', '(~a (~b', 'resetkeys ~a (allkeys ~b)', '+@all -@nosuch',
];

/** Rule strings that Redis 7.0.15 accepts. */
const ACCEPTED_RULES: readonly string[] = [
  '', 'on', 'ON OFF', '~', '&', '%R', '%w', '%RW~', '%R~~', '%rw~x', 'ALLKEYS', 'ResetKeys', '+@ALL', '-@All',
  '+GET', '+@Read', '+CONFIG|GET', '+select|0 +select|0', '()', '( )', '("open)', '(~"cache:*" +get)',
  '~a ~a %R~a', '&a &a', '+@all -@all', `#${'a'.repeat(64)} !${'a'.repeat(64)}`, 'nopass resetpass nopass',
  'sanitize-payload skip-sanitize-payload', '(+get) clearselectors (+set)', 'reset reset',
];

describe('compileUser against redis-server ACL SETUSER', () => {
  let redis: RedisServer;
  let session: RedisQuery;

  beforeAll(async () => {
    redis = await startRedis();
    session = await RedisQuery.connect(redis.port);
  });

  afterAll(async () => {
    session?.close();
    await redis?.stop();
  });

  it.each(REJECTED_RULES)('rejects %j with the server text', async (rules) => {
    const reply = await session.call(['ACL', 'SETUSER', 'target', 'reset', ...rules.split(/\s+/).filter(Boolean)]);
    const serverText = errorText(reply);
    expect(serverText).toMatch(/^ERR /);
    const expected = `user "target": ${serverText!.slice(4)}`;
    // The only intended difference: a `<password` rule is not echoed.
    expect(compileError(rules, 'target')).toBe(expected.replace(/'<[^']*'/, "'<***'"));
  });

  it.each(ACCEPTED_RULES)('accepts %j like the server', async (rules) => {
    const reply = await session.call(['ACL', 'SETUSER', 'target', 'reset', ...rules.split(/\s+/).filter(Boolean)]);
    expect(reply).toBe('OK');
    expect(() => compileUser('target', rules, table)).not.toThrow();
  });
});
