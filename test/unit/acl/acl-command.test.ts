/**
 * Tests of the ACL subcommands that respguard replies to from its own policy. The same users are
 * created on redis-server 7.0.15, and each reply is compared with the server's reply to the
 * same request, byte for byte where Redis's reply does not depend on its hash order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aclCommand, type AclCommandContext } from '../../../src/acl/acl-command.js';
import { AclLog } from '../../../src/acl/acl-log.js';
import { REDIS_CATEGORIES } from '../../../src/acl/table-index.js';
import type { CommandInfo } from '../../../src/commands/types.js';
import { refusalText } from '../../../src/commands/never-forwarded.js';
import { CommandTable } from '../../../src/commands/table.js';
import { parseConfig } from '../../../src/config/load.js';
import { buildPolicy, type Policy } from '../../../src/policy.js';
import type { Protocol } from '../../../src/resp/encode.js';
import { startRedis, type RedisServer } from '../../helpers/redis-server.js';
import { RawClient } from '../../helpers/resp-client.js';
import { decode, FIXED_REQUESTS, generatedRequests, normalizeGetUser, normalizeRules, RULE_STRINGS } from './rule-cases.js';
import { stricterCase } from './stricter-cases.js';

const table = CommandTable.default();
const PASSWORD = 'pw';
/** Redis's own default user, which the server always has. */
const DEFAULT_RULES = 'on nopass ~* &* +@all';
/** A user whose rules Redis renders without single-command rules in hash order. */
const SIMPLE_RULES = 'reset on >pw ~a* %R~b %W~c &ch sanitize-payload -@all +get (~c +set) (%R~d* &x* +@read)';

function userRules(): Map<string, string> {
  const users = new Map<string, string>([['default', DEFAULT_RULES], ['simple', SIMPLE_RULES]]);
  RULE_STRINGS.forEach((rules, i) => users.set(`u${i}`, `reset ${rules} on >${PASSWORD}`));
  return users;
}

function policyOf(users: Map<string, string>, extraYaml = 'blockCommands: []\n'): Policy {
  const entries = [...users].map(([name, rules]) => `  ${name}: { acl: ${JSON.stringify(rules)} }\n`).join('');
  const yaml = `listeners:\n  - { host: 127.0.0.1, port: 6380 }\n${extraYaml}users:\n${entries}`;
  return buildPolicy(parseConfig(yaml, 'acl.yaml', {}), table);
}

/** Returns the ACL DRYRUN reply for a command that respguard never forwards, whatever the rules allow. */
function refusalBulk(command: CommandInfo): string {
  const text = refusalText(command)!.replace(/^ERR /, '');
  return `$${text.length}\r\n${text}\r\n`;
}

/** Runs one ACL request as `userName` and returns the reply bytes as latin1. */
function run(policy: Policy, userName: string, request: string[], protocol: Protocol = 2, log?: AclLog): string {
  const args = request.map((arg) => Buffer.from(arg, 'latin1'));
  const lookup = table.resolve(args);
  if (lookup.kind !== 'ok') throw new Error(`request ${request.join(' ')} does not resolve: ${lookup.kind}`);
  const context: AclCommandContext = { user: policy.users.get(userName)!, protocol, policy, table, ...(log ? { log } : {}) };
  const reply = aclCommand(context, lookup.command, args);
  if (reply === null) throw new Error(`ACL ${request[1]} was not answered`);
  return reply.toString('latin1');
}

describe('ACL subcommands against redis-server', () => {
  const users = userRules();
  const policy = policyOf(users);
  let redis: RedisServer;
  let server: RawClient;
  let server3: RawClient;

  beforeAll(async () => {
    redis = await startRedis();
    server = await RawClient.connect(redis.port);
    server3 = await RawClient.connect(redis.port);
    expect((await server3.call(['HELLO', '3'])).startsWith('%7')).toBe(true);
    for (const [name, rules] of users) {
      if (name === 'default') continue;
      expect(await server.call(['ACL', 'SETUSER', name, ...rules.split(' ')])).toBe('+OK\r\n');
    }
  });

  afterAll(async () => {
    server?.close();
    server3?.close();
    await redis?.stop();
  });

  /** Sends every request to the server in one write and returns the raw replies. */
  async function serverReplies(client: RawClient, requests: string[][]): Promise<string[]> {
    for (const request of requests) client.send(request);
    const replies: string[] = [];
    for (let i = 0; i < requests.length; i++) replies.push(await client.reply());
    return replies;
  }

  it('lists the categories as the server', async () => {
    expect(run(policy, 'default', ['acl', 'cat'])).toBe(await server.call(['ACL', 'CAT']));
    expect(run(policy, 'default', ['acl', 'cat'], 3)).toBe(await server3.call(['ACL', 'CAT']));
  });

  it('lists the commands of each category as the server', async () => {
    for (const category of [...REDIS_CATEGORIES, 'SCRIPTING', 'Read']) {
      const ours = decode(run(policy, 'default', ['acl', 'cat', category])) as string[];
      const theirs = decode(await server.call(['ACL', 'CAT', category])) as string[];
      expect({ category, names: [...ours].sort() }).toEqual({ category, names: [...theirs].sort() });
      expect(ours.length).toBeGreaterThan(0);
    }
  });

  it.each([
    [['acl', 'cat', 'nosuch']],
    [['acl', 'cat', 'all']],
    [['acl', 'cat', 'read', 'x']],
    [['acl', 'log', '1', '2']],
    [['acl', 'log', 'x']],
    [['acl', 'log', '01']],
    [['acl', 'getuser', 'nosuchuser']],
    [['acl', 'whoami']],
    [['acl', 'users']],
  ])('replies to %j as the server', async (request) => {
    expect(run(policy, 'default', request)).toBe(await server.call(request));
  });

  it('replies with null for an unknown user in RESP3', async () => {
    expect(run(policy, 'default', ['acl', 'getuser', 'nosuchuser'], 3)).toBe(await server3.call(['acl', 'getuser', 'nosuchuser']));
  });

  it('describes users as ACL LIST does', async () => {
    const ours = decode(run(policy, 'default', ['acl', 'list'])) as string[];
    const theirs = decode(await server.call(['ACL', 'LIST'])) as string[];
    expect(ours.map(normalizeRules)).toEqual(theirs.map(normalizeRules));
    expect(ours.length).toBe(users.size);
  });

  it('describes a simple user byte for byte', async () => {
    expect(run(policy, 'default', ['acl', 'getuser', 'simple'])).toBe(await server.call(['ACL', 'GETUSER', 'simple']));
    expect(run(policy, 'default', ['acl', 'getuser', 'simple'], 3)).toBe(await server3.call(['ACL', 'GETUSER', 'simple']));
  });

  it('describes every user as ACL GETUSER does', async () => {
    for (const name of users.keys()) {
      const ours = JSON.stringify(decode(run(policy, 'default', ['acl', 'getuser', name])));
      const theirs = JSON.stringify(decode(await server.call(['ACL', 'GETUSER', name])));
      expect({ name, reply: normalizeGetUser(ours) }).toEqual({ name, reply: normalizeGetUser(theirs) });
    }
  });

  it('decides DRYRUN as the server', async () => {
    const requests = [...FIXED_REQUESTS, ...generatedRequests(table, 7)].filter((request) => table.resolve(request.map((arg) => Buffer.from(arg))).kind === 'ok');
    let compared = 0;
    for (let i = 0; i < RULE_STRINGS.length; i++) {
      const dryruns = requests.map((request) => ['acl', 'dryrun', `u${i}`, ...request]);
      const replies = await serverReplies(server, dryruns);
      dryruns.forEach((request, j) => {
        const ours = run(policy, 'default', request);
        if (ours === replies[j]) {
          compared++;
          return;
        }
        const args = requests[j]!.map((arg) => Buffer.from(arg));
        const lookup = table.resolve(args);
        const decision = policy.users.get(`u${i}`)!.check(lookup.kind === 'ok' ? lookup.command : table.get('ping')!, args);
        const refusal = lookup.kind === 'ok' && refusalText(lookup.command) !== undefined && replies[j] === '+OK\r\n' && ours === refusalBulk(lookup.command);
        const explained = refusal || (lookup.kind === 'ok' && stricterCase(lookup.command, args, decision, decode(replies[j]!)) !== undefined);
        expect({ request, ours, server: replies[j], explained }).toMatchObject({ request, explained: true });
      });
    }
    expect(compared).toBeGreaterThan(10_000);
  });

  it.each([
    [['acl', 'dryrun', 'nosuchuser', 'get', 'k']],
    [['acl', 'dryrun', 'u0', 'nosuchcommand', 'k']],
    [['acl', 'dryrun', 'u0', 'config', 'nosuch']],
    [['acl', 'dryrun', 'u0', 'get']],
    [['acl', 'dryrun', 'u0', 'config']],
    [['acl', 'dryrun', 'u0', 'config', 'set', 'x']],
  ])('rejects %j as the server', async (request) => {
    expect(run(policy, 'default', request)).toBe(await server.call(request));
  });

  it('logs entries in the server format', async () => {
    const name = 'logged';
    expect(await server.call(['ACL', 'SETUSER', name, 'reset', 'on', '>pw', '~k*', '&ch', '+get', '+publish'])).toBe('+OK\r\n');
    const client = await RawClient.connect(redis.port);
    try {
      await server.call(['ACL', 'LOG', 'RESET']);
      expect(await client.call(['AUTH', name, 'pw'])).toBe('+OK\r\n');
      await client.call(['GET', 'other']);
      await client.call(['GET', 'other']);
      await client.call(['SET', 'k1', 'v']);
      await client.call(['PUBLISH', 'news', 'm']);
      await client.call(['AUTH', 'nobody', 'wrong']);
    } finally {
      client.close();
    }
    const theirs = decode(await server.call(['ACL', 'LOG'])) as string[][];

    const log = new AclLog();
    const logPolicy = policyOf(new Map([['default', DEFAULT_RULES], [name, 'on >pw ~k* &ch +get +publish']]));
    const user = logPolicy.users.get(name)!;
    for (const request of [['get', 'other'], ['get', 'other'], ['set', 'k1', 'v'], ['publish', 'news', 'm']]) {
      const args = request.map((arg) => Buffer.from(arg));
      const lookup = table.resolve(args);
      const decision = lookup.kind === 'ok' ? user.check(lookup.command, args) : undefined;
      if (decision && !decision.allowed) log.addDenial(decision, args, name, 'id=7 cmd=get');
    }
    log.addAuthFailure('nobody', 'AUTH', 'id=7 cmd=auth');
    const ours = decode(run(logPolicy, 'default', ['acl', 'log'], 2, log)) as string[][];

    const fields = (entry: string[]): string[] => entry.filter((_, i) => i % 2 === 0);
    const values = (entry: string[], keys: string[]): unknown[] => keys.map((key) => entry[entry.indexOf(key) + 1]);
    const compared = ['count', 'reason', 'context', 'object', 'username'];
    expect(ours.length).toBe(theirs.length);
    ours.forEach((entry, i) => {
      expect(fields(entry)).toEqual([...fields(theirs[i]!), 'entry-id', 'timestamp-created', 'timestamp-last-updated']);
      expect(values(entry, compared)).toEqual(values(theirs[i]!, compared));
    });
    expect(ours.map((entry) => values(entry, ['reason', 'object']))).toEqual([['auth', 'AUTH'], ['channel', 'news'], ['command', 'set'], ['key', 'other']]);
  });
});

describe('ACL subcommands', () => {
  const policy = policyOf(
    new Map([
      ['admin', 'on >a ~* &* +@all'],
      ['shadow', 'on >s ~* +get'],
      ['reader', 'on >r ~* +acl|whoami +acl|cat'],
    ]),
    '',
  );

  it('answers WHOAMI with the session user', () => {
    expect(run(policy, 'reader', ['acl', 'whoami'])).toBe('$6\r\nreader\r\n');
  });

  it.each(['setuser', 'deluser', 'load', 'save'])('rejects %s with the config hint', (subcommand) => {
    const request = ['acl', subcommand, ...(subcommand.endsWith('user') ? ['x'] : [])];
    expect(run(policy, 'admin', request)).toBe(
      `-ERR ACL ${subcommand.toUpperCase()} is not available through respguard, because respguard's users and ACL rules are ` +
        'managed in its config file. Change the users section of the config and reload respguard\r\n',
    );
  });

  it('leaves GENPASS and HELP to the normal path', () => {
    for (const request of [['acl', 'genpass'], ['acl', 'help']]) {
      const args = request.map((arg) => Buffer.from(arg));
      const lookup = table.resolve(args);
      expect(lookup.kind).toBe('ok');
      if (lookup.kind !== 'ok') continue;
      expect(aclCommand({ user: policy.users.get('admin')!, protocol: 2, policy }, lookup.command, args)).toBeNull();
    }
  });

  it.each([['list'], ['users'], ['getuser', 'admin'], ['log'], ['dryrun', 'admin', 'get', 'k']])(
    'checks the rules again for %s',
    (...subcommand) => {
      expect(run(policy, 'shadow', ['acl', ...subcommand])).toBe(
        `-NOPERM this user has no permissions to run the 'acl|${subcommand[0]}' command\r\n`,
      );
    },
  );

  it.each([
    ['replconf', 'listening-port', '6390'],
    ['psync', '?', '-1'],
    ['sync'],
  ])('reports the refusal of %s in DRYRUN', (...request) => {
    const open = policyOf(new Map([['admin', 'on >a ~* &* +@all']]));
    expect(run(open, 'admin', ['acl', 'dryrun', 'admin', ...request])).toBe(refusalBulk(table.get(request[0]!)!));
    expect(refusalBulk(table.get('replconf')!)).toBe("$81\r\n'replconf' cannot run through respguard: a replica must connect to Redis directly\r\n");
  });

  it('reports a blocked command in DRYRUN', () => {
    const blocked = policyOf(new Map([['admin', 'on >a ~* &* +@all']]), '');
    expect(run(blocked, 'admin', ['acl', 'dryrun', 'admin', 'flushall'])).toBe("$42\r\ncommand 'flushall' is blocked by respguard\r\n");
    expect(run(blocked, 'admin', ['acl', 'dryrun', 'admin', 'get', 'k'])).toBe('+OK\r\n');
  });

  it('reports a stricter denial in DRYRUN', () => {
    const scripts = policyOf(new Map([['admin', 'on >a ~* &* +@all'], ['app', 'on >a ~k* +@scripting']]), '');
    const reply = run(scripts, 'admin', ['acl', 'dryrun', 'app', 'eval', 's', '0']);
    expect(decode(reply)).toBe(
      "This user has no permissions to run the 'eval' command, because scripts and functions run with respguard's " +
        "upstream rights, beyond this user's ACL rules and respguard's blockCommands. Set allowScripts: true for the " +
        'user in the respguard config to allow them',
    );
  });

  it('shows and resets the log', () => {
    const log = new AclLog();
    log.addAuthFailure('nobody', 'HELLO', 'id=3');
    const reply = decode(run(policy, 'admin', ['acl', 'log'], 2, log)) as unknown[][];
    expect(reply).toHaveLength(1);
    expect(reply[0]!.slice(0, 10)).toEqual(['count', 1, 'reason', 'auth', 'context', 'toplevel', 'object', 'HELLO', 'username', 'nobody']);
    expect(run(policy, 'admin', ['acl', 'log', '0'], 2, log)).toBe('*0\r\n');
    expect(run(policy, 'admin', ['acl', 'log', '-5'], 2, log)).toBe('*0\r\n');
    expect(run(policy, 'admin', ['acl', 'log', 'RESET'], 2, log)).toBe('+OK\r\n');
    expect(log.size).toBe(0);
    expect(run(policy, 'admin', ['acl', 'log'], 2, log)).toBe('*0\r\n');
  });

  it('shows an empty log without a store', () => {
    expect(run(policy, 'admin', ['acl', 'log'])).toBe('*0\r\n');
    expect(run(policy, 'admin', ['acl', 'log', 'reset'])).toBe('+OK\r\n');
  });

  it('encodes the log in RESP3', () => {
    let now = 5_000;
    const log = new AclLog({ now: () => now });
    log.addAuthFailure('nobody', 'AUTH', 'id=3');
    now = 5_008;
    const reply = run(policy, 'admin', ['acl', 'log'], 3, log);
    expect(reply.startsWith('*1\r\n%10\r\n$5\r\ncount\r\n:1\r\n$6\r\nreason\r\n$4\r\nauth\r\n')).toBe(true);
    expect(reply).toContain('$11\r\nage-seconds\r\n,');
    expect(reply).toContain('$8\r\nentry-id\r\n:0\r\n$17\r\ntimestamp-created\r\n:5000\r\n$22\r\ntimestamp-last-updated\r\n:5000\r\n');
  });
});
