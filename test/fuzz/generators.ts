/**
 * Input generators of the fuzz script: checked requests, whose exact replies are known in
 * advance, and hostile streams (random bytes, mutated requests, protocol edge cases), whose
 * replies are only checked for framing and ownership.
 *
 * Every token that a client sends and can get back (ECHO arguments, values) has the form
 * `tok<owner>x<n>x<owner>k`, where the owner is `c` or `h` and the client's id. Tokens are
 * unique in a run, so a reply that carries another client's token proves that a reply was
 * misrouted. The owner is written twice because hostile clients mutate their own requests: a
 * mutated digit could turn a token into another client's, but it changes only one of the copies.
 */
import { encodeCommand } from '../helpers/resp-client.js';

export type Random = () => number;

/** Returns an integer in [min, max]. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function pickOne<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** Returns the token number `serial` of `owner`. */
export function makeToken(owner: string, serial: number): string {
  return `tok${owner}x${serial}x${owner}k`;
}

/** Finds every intact token in `text` and returns the owners (`c12`, `h7`) that are not `self`. */
export function foreignTokenOwners(text: string, self: string): string[] {
  const owners = new Set<string>();
  for (const match of text.matchAll(/tok([ch]\d+)x\d+x([ch]\d+)k/g)) {
    if (match[1] === match[2] && match[1] !== self) owners.add(match[1]!);
  }
  return [...owners];
}

/** One request of a checker client and the exact reply it must get. */
export interface CheckedRequest {
  bytes: Buffer;
  /** The reply as latin1 text. */
  expected: string;
}

const bulk = (value: string): string => `$${Buffer.byteLength(value, 'latin1')}\r\n${value}\r\n`;

/** State of one checker client: its keys' values, so that replies can be predicted. */
export class CheckerModel {
  private serial = 0;
  private counter = 0;
  private listLength = 0;
  private readonly values = new Map<string, string>();

  constructor(
    /** Owner id in tokens and keys, as `c12`. */
    readonly owner: string,
    readonly protocol: 2 | 3,
    private readonly maxValueBytes: number,
  ) {}

  private token(): string {
    this.serial += 1;
    return makeToken(this.owner, this.serial);
  }

  private key(name: string): string {
    return `fc:${this.owner}:${name}`;
  }

  private get nil(): string {
    return this.protocol === 3 ? '_\r\n' : '$-1\r\n';
  }

  private get nilArray(): string {
    return this.protocol === 3 ? '_\r\n' : '*-1\r\n';
  }

  /** Returns a batch of 1 to `maxOps` operations, each one to five requests. */
  batch(random: Random, maxOps: number): CheckedRequest[] {
    const requests: CheckedRequest[] = [];
    const ops = randomInt(random, 1, maxOps);
    for (let i = 0; i < ops; i++) requests.push(...this.operation(random));
    return requests;
  }

  private operation(random: Random): CheckedRequest[] {
    const roll = random();
    if (roll < 0.3) return [this.echo()];
    if (roll < 0.4) return [this.inlineEcho()];
    if (roll < 0.5) return [this.incr()];
    if (roll < 0.6) return [this.rpush()];
    if (roll < 0.7) return this.setGet(random, 64);
    if (roll < 0.74) return this.setGet(random, this.maxValueBytes);
    if (roll < 0.78) return this.transaction();
    if (roll < 0.81) return this.otherDatabase();
    if (roll < 0.84) return this.subscription();
    if (roll < 0.86) return [this.blockingPop()];
    if (roll < 0.9) return this.clientName();
    return [this.rejected(random)];
  }

  private echo(): CheckedRequest {
    const token = this.token();
    return { bytes: encodeCommand(['ECHO', token]), expected: bulk(token) };
  }

  private inlineEcho(): CheckedRequest {
    const token = this.token();
    return { bytes: Buffer.from(`ECHO ${token}\r\n`), expected: bulk(token) };
  }

  private incr(): CheckedRequest {
    this.counter += 1;
    return { bytes: encodeCommand(['INCR', this.key('counter')]), expected: `:${this.counter}\r\n` };
  }

  private rpush(): CheckedRequest {
    this.listLength += 1;
    return { bytes: encodeCommand(['RPUSH', this.key('list'), this.token()]), expected: `:${this.listLength}\r\n` };
  }

  /** SET then GET of a value that starts with a token and is padded to a random size. */
  private setGet(random: Random, maxBytes: number): CheckedRequest[] {
    const name = `k${randomInt(random, 0, 4)}`;
    const key = this.key(name);
    const previous = this.values.get(key);
    const token = this.token();
    const size = Math.max(token.length, randomInt(random, 0, maxBytes));
    const value = token + '.'.repeat(size - token.length);
    this.values.set(key, value);
    return [
      { bytes: encodeCommand(['GET', key]), expected: previous === undefined ? this.nil : bulk(previous) },
      { bytes: encodeCommand(['SET', key, value]), expected: '+OK\r\n' },
      { bytes: encodeCommand(['GET', key]), expected: bulk(value) },
    ];
  }

  private transaction(): CheckedRequest[] {
    const token = this.token();
    this.counter += 1;
    return [
      { bytes: encodeCommand(['MULTI']), expected: '+OK\r\n' },
      { bytes: encodeCommand(['ECHO', token]), expected: '+QUEUED\r\n' },
      { bytes: encodeCommand(['INCR', this.key('counter')]), expected: '+QUEUED\r\n' },
      { bytes: encodeCommand(['EXEC']), expected: `*2\r\n${bulk(token)}:${this.counter}\r\n` },
    ];
  }

  /** SELECT 1 pins an upstream connection; the key written there must not show in database 0. */
  private otherDatabase(): CheckedRequest[] {
    const key = this.key('db1');
    const token = this.token();
    return [
      { bytes: encodeCommand(['SELECT', '1']), expected: '+OK\r\n' },
      { bytes: encodeCommand(['SET', key, token]), expected: '+OK\r\n' },
      { bytes: encodeCommand(['GET', key]), expected: bulk(token) },
      { bytes: encodeCommand(['SELECT', '0']), expected: '+OK\r\n' },
      { bytes: encodeCommand(['EXISTS', key]), expected: ':0\r\n' },
    ];
  }

  private subscription(): CheckedRequest[] {
    const channel = `fc:${this.owner}:channel`;
    const type = this.protocol === 3 ? '>' : '*';
    return [
      { bytes: encodeCommand(['SUBSCRIBE', channel]), expected: `${type}3\r\n${bulk('subscribe')}${bulk(channel)}:1\r\n` },
      { bytes: encodeCommand(['UNSUBSCRIBE', channel]), expected: `${type}3\r\n${bulk('unsubscribe')}${bulk(channel)}:0\r\n` },
    ];
  }

  private blockingPop(): CheckedRequest {
    return { bytes: encodeCommand(['BLPOP', this.key('empty'), '0.01']), expected: this.nilArray };
  }

  private clientName(): CheckedRequest[] {
    const name = `name-${this.token()}`;
    return [
      { bytes: encodeCommand(['CLIENT', 'SETNAME', name]), expected: '+OK\r\n' },
      { bytes: encodeCommand(['CLIENT', 'GETNAME']), expected: bulk(name) },
    ];
  }

  /** A request that respguard must reject itself: denied key or command, unknown command, wrong arity. */
  private rejected(random: Random): CheckedRequest {
    const cases: CheckedRequest[] = [
      {
        bytes: encodeCommand(['GET', `other:${this.token()}`]),
        expected: '-NOPERM this user has no permissions to access one of the keys used as arguments\r\n',
      },
      { bytes: encodeCommand(['KEYS', '*']), expected: "-NOPERM this user has no permissions to run the 'keys' command\r\n" },
      { bytes: encodeCommand(['FZNOSUCH', this.token()]), expected: "-ERR unknown command 'FZNOSUCH', with args beginning with: \r\n" },
      { bytes: encodeCommand(['GET']), expected: "-ERR wrong number of arguments for 'get' command\r\n" },
    ];
    return pickOne(random, cases);
  }
}

/** Numbers that sit on or past a limit of Redis or respguard, put into count and length lines. */
const EDGE_NUMBERS = [
  '0', '-1', '-0', '+1', '01', '-2', '10', '11', '16384', '16385', '65536', '1048576', '1048577',
  '2147483647', '2147483648', '536870912', '536870913', '9223372036854775807', '9223372036854775808',
  '99999999999999999999', '', ' 1', '1 ', '0x10', '1e3',
];

/** Bytes that change the meaning of a request when inserted. */
const SPECIAL_BYTES = [0x0d, 0x0a, 0x00, 0x2a, 0x24, 0x2d, 0x2b, 0x30, 0x22, 0x27, 0x5c, 0x20, 0x09, 0x0b, 0x0c, 0xff];

/** Fixed streams at the protocol's edges. */
const EDGE_STREAMS: readonly string[] = [
  '*2147483647\r\n',
  '*1048577\r\n',
  '*1\r\n$536870913\r\n',
  '*3\r\n$3\r\nSET\r\n$5\r\nfh:k1\r\n$100000000\r\nxx',
  '*-1\r\n*0\r\n\r\n\n   \r\n',
  '*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING',
  'POST / HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET / HTTP/1.1\r\n\r\n',
  'ECHO "unterminated\r\n',
  "ECHO 'a\\'b' \"\\x41\\xZZ\\n\"\r\n",
  'ECHO a\x00b\r\n',
  '*1\r\n$4\r\nPI\x00G\r\n',
  `*1\r\n$${'9'.repeat(30)}\r\n`,
  `${'*'.repeat(70000)}`,
  `ECHO ${'a'.repeat(70000)}\r\n`,
  '*11\r\n',
  '\r\n\r\n\r\n*1\r\n$4\r\nPING\r\n',
  '*2\r\n$4\r\nECHO\r\n$3\r\nabc\n\r',
  'HELLO 3\r\nHELLO 2\r\nHELLO 4\r\nHELLO\r\n',
  'MULTI\r\nSUBSCRIBE fh:a\r\nEXEC\r\n',
  'SUBSCRIBE fh:a fh:b\r\nPING\r\nGET fh:k\r\nRESET\r\n',
  'CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nPING\r\n',
  'MULTI\r\nMULTI\r\nEXEC\r\nEXEC\r\nDISCARD\r\n',
  'QUIT\r\nPING\r\n',
];

/** Returns a valid request of a hostile client, with its tokens, for mutation. */
function hostileRequest(random: Random, owner: string, serial: () => string): Buffer {
  const key = `fh:${owner}:${randomInt(random, 0, 3)}`;
  const token = serial();
  const forms: (() => Buffer)[] = [
    () => encodeCommand(['ECHO', token]),
    () => Buffer.from(`ECHO ${token}\r\n`),
    () => encodeCommand(['RPUSH', key, token, serial()]),
    () => encodeCommand(['SET', key, token]),
    () => encodeCommand(['GET', key]),
    () => Buffer.from(`SET ${key} "${token}\\x41 b" \r\n`),
    () => encodeCommand(['MULTI']),
    () => encodeCommand(['EXEC']),
    () => encodeCommand(['SUBSCRIBE', `fh:${owner}`]),
    () => encodeCommand(['UNSUBSCRIBE']),
    () => encodeCommand(['SELECT', String(randomInt(random, 0, 2))]),
    () => encodeCommand(['HELLO', String(randomInt(random, 2, 3))]),
    () => encodeCommand(['BLPOP', key, '0.05']),
    () => encodeCommand(['CLIENT', 'REPLY', pickOne(random, ['ON', 'OFF', 'SKIP'])]),
    () => encodeCommand(['GET', 'not-mine']),
    () => encodeCommand(['FLUSHALL']),
    () => encodeCommand(['AUTH', 'hostile', 'wrong']),
    () => encodeCommand(['RESET']),
  ];
  return pickOne(random, forms)();
}

/** Applies one random mutation to `bytes`. */
function mutate(random: Random, bytes: Buffer): Buffer {
  if (bytes.length === 0) return Buffer.from([pickOne(random, SPECIAL_BYTES)]);
  const at = randomInt(random, 0, bytes.length - 1);
  switch (randomInt(random, 0, 6)) {
    case 0: {
      const copy = Buffer.from(bytes);
      copy[at] = randomInt(random, 0, 255);
      return copy;
    }
    case 1:
      return Buffer.concat([bytes.subarray(0, at), Buffer.from([pickOne(random, SPECIAL_BYTES)]), bytes.subarray(at)]);
    case 2:
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    case 3:
      return bytes.subarray(0, at);
    case 4: {
      const end = randomInt(random, at, Math.min(bytes.length, at + 64));
      return Buffer.concat([bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end)]);
    }
    default:
      return replaceNumber(random, bytes);
  }
}

/** Replaces the digits after a `*` or `$` with an edge number. */
function replaceNumber(random: Random, bytes: Buffer): Buffer {
  const text = bytes.toString('latin1');
  const positions = [...text.matchAll(/[*$](-?\d*)/g)];
  if (positions.length === 0) return bytes;
  const match = pickOne(random, positions);
  const from = match.index! + 1;
  const to = from + match[1]!.length;
  return Buffer.from(text.slice(0, from) + pickOne(random, EDGE_NUMBERS) + text.slice(to), 'latin1');
}

/** The kind of a hostile stream, for the report. */
export type HostileKind = 'random' | 'mutated' | 'edge' | 'inline';

/** Returns a hostile stream: random bytes, mutated requests, an edge case or odd inline lines. */
export function hostileStream(random: Random, owner: string, serial: () => string): { kind: HostileKind; bytes: Buffer } {
  const roll = random();
  if (roll < 0.15) {
    const bytes = Buffer.alloc(randomInt(random, 1, 2048));
    for (let i = 0; i < bytes.length; i++) bytes[i] = randomInt(random, 0, 255);
    return { kind: 'random', bytes };
  }
  if (roll < 0.25) return { kind: 'edge', bytes: Buffer.from(pickOne(random, EDGE_STREAMS), 'latin1') };
  if (roll < 0.35) return { kind: 'inline', bytes: inlineLines(random, owner, serial) };

  const requests: Buffer[] = [];
  const count = randomInt(random, 1, 30);
  for (let i = 0; i < count; i++) requests.push(hostileRequest(random, owner, serial));
  let bytes: Buffer = Buffer.concat(requests);
  const mutations = randomInt(random, 1, 4);
  for (let i = 0; i < mutations; i++) bytes = mutate(random, bytes);
  return { kind: 'mutated', bytes };
}

/** Inline lines built from quoting and escaping fragments, mixed with multibulk requests. */
function inlineLines(random: Random, owner: string, serial: () => string): Buffer {
  const fragments = ['"a b"', "'a\\'b'", '"\\x41\\x4"', '"\\n\\r\\t"', 'a"b c"', '""', "''", '\\"', '"a"b', "'a'b", '\x0b', '\x0c', '\x00', '\t'];
  const parts: Buffer[] = [];
  const lines = randomInt(random, 1, 10);
  for (let i = 0; i < lines; i++) {
    if (random() < 0.3) {
      parts.push(encodeCommand(['ECHO', serial()]));
      continue;
    }
    const words = [pickOne(random, ['ECHO', 'RPUSH', 'SET', 'PING']), `fh:${owner}:i`];
    for (let w = randomInt(random, 0, 4); w > 0; w--) words.push(random() < 0.5 ? serial() : pickOne(random, fragments));
    parts.push(Buffer.from(`${words.join(pickOne(random, [' ', '  ', '\t']))}${pickOne(random, ['\r\n', '\n', '\r\r\n'])}`, 'latin1'));
  }
  return Buffer.concat(parts);
}

/** Cuts `bytes` into 1 to `maxChunks` chunks at random offsets. */
export function randomChunks(random: Random, bytes: Buffer, maxChunks: number): Buffer[] {
  const cuts = new Set<number>();
  const wanted = Math.min(randomInt(random, 0, maxChunks - 1), Math.max(0, bytes.length - 1));
  while (cuts.size < wanted) cuts.add(randomInt(random, 1, bytes.length - 1));
  const offsets = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  const chunks: Buffer[] = [];
  for (let i = 0; i + 1 < offsets.length; i++) chunks.push(bytes.subarray(offsets[i], offsets[i + 1]));
  return chunks;
}
