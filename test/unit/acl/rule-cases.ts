/**
 * Shared cases of the ACL differential tests: rule strings, requests and the ACL DRYRUN text
 * that redis-server 7.0.15 replies for a decision.
 */
import RedisParser from 'redis-parser';
import type { Decision } from '../../../src/acl/types.js';
import type { CommandTable } from '../../../src/commands/table.js';
import { seededRandom } from '../../helpers/seeded-random.js';

/** Rule strings compared with redis-server, from one key pattern to selectors and channels. */
export const RULE_STRINGS: readonly string[] = [
  '~cache:* +get',
  '~cache:* +@read',
  '+@all -@dangerous',
  '+@all -@dangerous +flushdb',
  'allkeys +@all',
  '%R~ro:* %W~wo:* ~rw:* +@all',
  '%R~* +@all',
  '%W~* +@all',
  '%R~cache:* %W~cache:* +@all',
  '&news.* +publish +subscribe +psubscribe +spublish +ssubscribe',
  'allchannels +@pubsub',
  'resetchannels &a* &news.x +@pubsub allkeys',
  '+client|kill +config|get allkeys',
  '+@all -client|kill -config ~*',
  '+select|0 +get ~*',
  '-@all +select|0 +select|1 +select|0',
  '+select|0 +select -select',
  '+@read +@write -@keyspace ~*',
  '~a* (+set ~b*) (+get %R~c*)',
  '+get ~a1 (~b2 +get +mget) (%R~c3 +@read)',
  '+mset ~cache:* (~ro:* +mset) (~a1 +mset)',
  '(+@all ~*) clearselectors +get',
  '+@all ~* reset +get',
  'nocommands +@admin allkeys',
  '+@slow ~*',
  '+acl -acl|setuser',
  '+debug|object ~*',
  '+@all -@all +get ~*',
  'allcommands -get',
  '+@scripting ~k* ~a1',
  '+@all %RW~*',
  '(~x +@pubsub &x) +@all',
  '+@all allkeys resetchannels (&a +publish) (&b +publish +subscribe)',
  '+psubscribe +subscribe &foo* &bar',
  '+@all -@all',
  '+@stream ~s* ~rw:* %R~ro:*',
  '+@sortedset %R~z* %W~out*',
  '+@geo ~* -georadius',
  '+@list +@blocking ~l* %R~ro:*',
  '+@hash -hget ~*',
  '+@connection',
  '+command -command|docs',
  '+@transaction +@read ~cache:*',
  '+sort +sort_ro %R~ro:* ~rw:*',
  '+migrate +@keyspace ~a1 ~b2',
  '~* +@bitmap +@string -setrange',
  '+@all ~cache:* (%R~* +@read) (%W~* +@write)',
  '+@all &news.* (&a* +publish) (~cache:* +get)',
  '(~"cache:*" +get) (~\'ro:a\' +@read)',
  'ON ALLKEYS +GET +@READ -@Dangerous +Config|Get',
  '~* ( +set ) ( ~a1  +mget )',
  '+@all -@all allkeys +debug|OBJECT +select|0 +select|1 -@connection',
  '%W~cache:* %R~cache:* %RW~rw:* +@write +@read',
  '+@all ~a1 ~b2 (~c3 %R~a1 +mget) (~b2 ~c3 +mget)',
];

/** Arguments that fill requests: key names of the patterns above, numbers and keywords. */
const WORDS = [
  'cache:1', 'ro:a', 'wo:b', 'rw:c', 'a1', 'b2', 'c3', 'k1', 'other', 'news.x', 'foo*', 'bar', 'x', 's1', 'z1', 'out1',
  '0', '1', '2', '3', 'STORE', 'STREAMS', 'KEYS', 'GET', 'BY', 'STOREDIST', 'LEFT', 'WEIGHTS',
];

/** Hand-written requests that exercise key flags, key counts, channels and first arguments. */
export const FIXED_REQUESTS: readonly string[][] = [
  ['get', 'cache:1'], ['get', 'other'], ['set', 'cache:1', 'v'], ['set', 'ro:a', 'v'], ['set', 'wo:b', 'v'],
  ['get', 'wo:b'], ['get', 'ro:a'], ['get', ''], ['mget', 'a1', 'b2', 'c3'], ['mget', 'c3', 'b2', 'a1'],
  ['mset', 'cache:1', 'v', 'ro:a', 'v', 'a1', 'v'], ['mset', 'a1', 'v', 'cache:1', 'v'],
  ['copy', 'ro:a', 'wo:b'], ['copy', 'wo:b', 'ro:a'], ['rename', 'rw:c', 'wo:b'], ['exists', 'ro:a', 'wo:b'],
  ['del', 'wo:b'], ['del', 'ro:a'], ['type', 'wo:b'], ['lmove', 'ro:a', 'wo:b', 'LEFT', 'LEFT'],
  ['sort', 'ro:a'], ['sort', 'ro:a', 'STORE', 'wo:b'], ['sort', 'rw:c', 'BY', 'ro:*', 'STORE', 'rw:c'], ['sort_ro', 'ro:a'],
  ['eval', 'return 1', '0'], ['eval', 'return 1', '2', 'k1', 'a1'], ['eval', 'return 1', '1', 'x'], ['fcall', 'f', '1', 'k1'],
  ['zunionstore', 'out1', '2', 'z1', 'z2'], ['zunionstore', 'z1', '1', 'out1'], ['zrangestore', 'out1', 'z1', '0', '1'],
  ['xread', 'STREAMS', 's1', 's2', '0', '0'], ['xread', 'COUNT', '1', 'STREAMS', 's1', '0'],
  ['xreadgroup', 'GROUP', 'g', 'c', 'STREAMS', 's1', '>'], ['xadd', 's1', '*', 'f', 'v'],
  ['georadius', 'ro:a', '0', '0', '1', 'km'], ['georadius', 'ro:a', '0', '0', '1', 'km', 'STORE', 'wo:b'],
  ['migrate', '127.0.0.1', '1', 'a1', '0', '1000'], ['migrate', '127.0.0.1', '1', '', '0', '1000', 'KEYS', 'a1', 'b2'],
  ['publish', 'news.x', 'hi'], ['publish', 'other', 'hi'], ['publish', 'a', 'hi'], ['publish', 'b', 'hi'],
  ['spublish', 'news.x', 'hi'], ['subscribe', 'news.x', 'news.y'], ['subscribe', 'news.x', 'other'],
  ['subscribe', 'a', 'b', 'c'], ['ssubscribe', 'news.x'], ['psubscribe', 'news.*'], ['psubscribe', 'foo*'],
  ['psubscribe', 'foo'], ['psubscribe', 'bar', 'foo*'], ['unsubscribe', 'other'], ['punsubscribe', 'x*'],
  ['select', '0'], ['SELECT', '1'], ['select', '1'], ['select', '00'], ['debug', 'object', 'a1'], ['debug', 'OBJECT', 'k1'], ['debug', 'sleep', '0'],
  ['client', 'kill', '1.2.3.4:5'], ['client', 'list'], ['client', 'setname', 'n'], ['config', 'get', 'maxmemory'],
  ['config', 'set', 'maxmemory', '1'], ['acl', 'setuser', 'x'], ['acl', 'whoami'], ['command'], ['command', 'docs'],
  ['command', 'count'], ['auth', 'x'], ['auth', 'x', 'y'], ['hello'], ['hello', '3'], ['quit'], ['reset'], ['ping'],
  ['flushdb'], ['flushall'], ['keys', '*'], ['scan', '0'], ['multi'], ['exec'], ['hget', 'cache:1', 'f'],
  ['hset', 'cache:1', 'f', 'v'], ['setrange', 'k1', '0', 'v'], ['bitop', 'AND', 'k1', 'a1', 'ro:a'],
  ['blmove', 'l1', 'ro:a', 'LEFT', 'LEFT', '0'], ['blpop', 'l1', 'ro:a', '0'], ['lmpop', '2', 'l1', 'ro:a', 'LEFT'],
  ['object', 'freq', 'a1'], ['object', 'encoding', 'ro:a'], ['memory', 'usage', 'wo:b'], ['touch', 'ro:a', 'wo:b'],
];

/**
 * Generates requests for every command and subcommand of the table: each gets its minimum
 * number of arguments and, for a variable arity, up to three more, drawn from WORDS.
 */
export function generatedRequests(table: CommandTable, seed: number): string[][] {
  const random = seededRandom(seed);
  const requests: string[][] = [];
  for (const command of table.all()) {
    if (command.subcommands) continue;
    const head = command.parent ? [command.parent.name, command.name.slice(command.parent.name.length + 1)] : [command.name];
    const minimum = Math.abs(command.arity);
    const extras = command.arity < 0 ? [0, 1, 3] : [0];
    for (const extra of extras) {
      const request = [...head];
      while (request.length < minimum + extra) request.push(WORDS[Math.floor(random() * WORDS.length)]!);
      requests.push(request);
    }
  }
  return requests;
}

/** Returns the ACL DRYRUN reply text that redis-server 7.0.15 gives for `decision`. */
export function dryrunText(decision: Decision, args: readonly string[]): string {
  if (decision.allowed) return 'OK';
  if (decision.reason === 'command') return `This user has no permissions to run the '${decision.command}' command`;
  return `This user has no permissions to access the '${args[decision.argIndex!]}' ${decision.reason}`;
}

/** Decodes a RESP2 reply (latin1 bytes) into strings, numbers and arrays, and errors into { error }. */
export function decode(reply: string): unknown {
  let value: unknown;
  const parser = new RedisParser({
    returnReply: (result: unknown) => (value = result),
    returnError: (error: Error) => (value = { error: error.message }),
  });
  parser.execute(Buffer.from(reply, 'latin1'));
  return value;
}

/**
 * Sorts the single-command rules that follow `+@all` or `-@all` and the category rules, in each
 * selector of a rule description. Redis lists single commands in the hash order of its command
 * dictionary, which changes from one server start to the next.
 */
export function normalizeRules(text: string): string {
  return text.replace(/(^|\()([^()]*)/g, (_match, open: string, body: string) => {
    const words = body.split(' ');
    const firstCommand = words.findIndex((word) => /^[+-]@all$/.test(word));
    if (firstCommand < 0) return open + body;
    let end = firstCommand + 1;
    while (end < words.length && /^[+-]@/.test(words[end]!)) end++;
    const singles = words.slice(end).filter((word) => word !== '').sort();
    const tail = body.endsWith(' ') ? ' ' : '';
    return open + [...words.slice(0, end), ...singles].join(' ') + tail;
  });
}

/** Normalizes the command rules inside a GETUSER reply decoded to JSON. */
export function normalizeGetUser(json: string): string {
  return json.replace(/"(-@all|\+@all)([^"]*)"/g, (_match, head: string, rest: string) => JSON.stringify(normalizeRules(head + rest)));
}
