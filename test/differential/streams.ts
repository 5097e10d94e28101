/**
 * Request streams for the differential decoder test: valid requests whose effects can be seen
 * afterwards (RPUSH to the stream's own list, ECHO), in multibulk and inline form, then mutated
 * the ways that parsers get wrong. The mutations cover bad lengths, missing CR or LF, signs and
 * leading zeros in lengths, huge counts, NUL bytes, inline quoting edge cases and mixed forms.
 * Streams come from a seeded generator, so a failing stream number repeats from run to run.
 */
import { encodeCommand } from '../helpers/resp-client.js';
import { seededRandom } from '../helpers/seeded-random.js';

type Random = () => number;

const randomInt = (random: Random, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
const pickOne = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Inline argument text with quoting and escaping edge cases, as Redis's sdssplitargs() reads them. */
const INLINE_FRAGMENTS = [
  'a', '"a b"', "'a b'", '"\\x41\\x4a"', '"\\xZZ"', '"\\x4"', '"\\n\\r\\t\\b\\a\\q"', "'a\\'b'", "'a\\nb'", 'a"b c"',
  '""', "''", '"a"b', "'a'b", '"abc', "'abc", '\\"a', 'x\x0by', '\x0bx', '"\\\\"', '"a\\"', '\xe9',
];

/** Values put into count and length lines. */
const NUMBERS = [
  '+1', '+3', '01', '03', '-0', '-1', '-2', '0', ' 2', '2 ', '0x2', '2147483647', '2147483648', '1048576', '1048577',
  '99999999999999999999', '9223372036854775807', '9223372036854775808', '536870912', '536870913', '',
];

/** Returns one valid request that pushes to `list` or echoes. */
function baseRequest(random: Random, list: string, serial: () => string): Buffer {
  switch (randomInt(random, 0, 6)) {
    case 0:
      return encodeCommand(['RPUSH', list, serial(), serial()]);
    case 1:
      return encodeCommand(['RPUSH', list, Buffer.from([0, 13, 10, 255]), serial()]);
    case 2:
      return Buffer.from(`RPUSH ${list} ${serial()} ${pickOne(random, INLINE_FRAGMENTS)}${pickOne(random, ['\r\n', '\n'])}`, 'latin1');
    case 3:
      return Buffer.from(`RPUSH ${list} ${pickOne(random, INLINE_FRAGMENTS)} ${pickOne(random, INLINE_FRAGMENTS)}\r\n`, 'latin1');
    case 4:
      return encodeCommand(['ECHO', serial()]);
    case 5:
      return Buffer.from(pickOne(random, ['\r\n', '\n', '   \r\n', '*0\r\n', '*-1\r\n', 'PING\r\n']), 'latin1');
    default:
      return Buffer.from(`ECHO ${serial()}\r\n`, 'latin1');
  }
}

/** Applies one mutation of a kind that parsers get wrong. */
function mutate(random: Random, bytes: Buffer): Buffer {
  const text = bytes.toString('latin1');
  switch (randomInt(random, 0, 5)) {
    case 0:
      return replaceNumber(random, text, () => pickOne(random, NUMBERS));
    case 1:
      // A length one or two off.
      return replaceNumber(random, text, (old) => String(Math.max(0, Number(old) + pickOne(random, [-2, -1, 1, 2]))));
    case 2: {
      // Drop one CR or LF, or turn it into another byte.
      const ends = [...text.matchAll(/[\r\n]/g)].map((match) => match.index!);
      if (ends.length === 0) return bytes;
      const at = pickOne(random, ends);
      const replacement = pickOne(random, ['', 'X', ' ', '\r', '\n']);
      return Buffer.from(text.slice(0, at) + replacement + text.slice(at + 1), 'latin1');
    }
    case 3: {
      const at = randomInt(random, 0, text.length);
      return Buffer.from(text.slice(0, at) + '\x00' + text.slice(at), 'latin1');
    }
    case 4:
      return Buffer.concat([bytes.subarray(0, randomInt(random, 0, bytes.length)), Buffer.from(pickOne(random, ['"', "'", '\\', '*', '$', ' ']), 'latin1')]);
    default: {
      const at = randomInt(random, 0, text.length - 1);
      return Buffer.from(text.slice(0, at) + text.slice(at + 1), 'latin1');
    }
  }
}

/** Replaces the number after one `*` or `$` that starts a line. */
function replaceNumber(random: Random, text: string, next: (old: string) => string): Buffer {
  const lines = [...text.matchAll(/(^|\n)[*$]([^\r\n]*)/g)];
  if (lines.length === 0) return Buffer.from(text, 'latin1');
  const match = pickOne(random, lines);
  const from = match.index! + match[1]!.length + 1;
  return Buffer.from(text.slice(0, from) + next(match[2]!) + text.slice(from + match[2]!.length), 'latin1');
}

/** Returns stream number `index` of the run with `seed`: its list key and its bytes. */
export function differentialStream(seed: number, index: number): { list: string; bytes: Buffer } {
  const random = seededRandom(seed * 100_003 + index);
  const list = `df:${index}`;
  let serial = 0;
  const nextValue = (): string => `v${index}x${++serial}`;
  const requests: Buffer[] = [];
  const count = randomInt(random, 1, 8);
  for (let i = 0; i < count; i++) requests.push(baseRequest(random, list, nextValue));
  let bytes: Buffer = Buffer.concat(requests);
  const mutations = randomInt(random, 0, 2);
  for (let i = 0; i < mutations; i++) bytes = mutate(random, bytes);
  return { list, bytes };
}
