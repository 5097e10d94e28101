/**
 * Hand-picked key extraction cases with the keys Redis 7.0.15 finds, as `index FLAG FLAG`.
 * keys.test.ts checks extractKeys against them and keys-differential.test.ts checks that the
 * real server agrees, so each expectation here is pinned on both sides.
 */

/** One request and its expected keys. */
export interface KeyCase {
  readonly args: Buffer[];
  /** Expected keys in order, each as the argument index followed by its flag names. */
  readonly keys: readonly string[];
}

/** Builds a case from a space-separated request, or from an array for arguments with blanks or NUL bytes. */
function keyCase(request: string | string[], keys: string[]): KeyCase {
  const parts = typeof request === 'string' ? request.split(' ') : request;
  return { args: parts.map((part) => Buffer.from(part, 'latin1')), keys };
}

const RWAU = 'RW ACCESS UPDATE';
const ROA = 'RO ACCESS';
const OWU = 'OW UPDATE';
const RWAD = 'RW ACCESS DELETE';

/** Scripts and functions: the count at index 2, then the keys. Counts that string2ll rejects fall back to atoi without flags. */
const SCRIPT_CASES: KeyCase[] = [
  keyCase('eval s 0', []),
  keyCase('eval s 1 a', [`3 ${RWAU}`]),
  keyCase('eval s 2 a b x', [`3 ${RWAU}`, `4 ${RWAU}`]),
  keyCase('eval s 3 a b', []),
  keyCase('eval s -1 a', []),
  keyCase('eval s abc a', []),
  keyCase('eval s 2x a b', ['3', '4']),
  keyCase(['eval', 's', ' 2', 'a', 'b'], ['3', '4']),
  keyCase('eval s +1 a', ['3']),
  keyCase('eval s 01 a', ['3']),
  keyCase(['eval', 's', '1\0', 'a'], ['3']),
  keyCase('eval s 4294967297 a', [`3 ${RWAU}`]),
  keyCase('eval s 4294967296 a', []),
  keyCase('eval s 2147483649 a', []),
  keyCase('eval s 9223372036854775808 a', []),
  keyCase('eval s 18446744073709551617 a', []),
  keyCase('EVAL s 1 a', [`3 ${RWAU}`]),
  keyCase('evalsha 0123 1 a', [`3 ${RWAU}`]),
  keyCase('eval_ro s 2 a b', [`3 ${ROA}`, `4 ${ROA}`]),
  keyCase('evalsha_ro 0123 1 a', [`3 ${ROA}`]),
  keyCase('evalsha_ro 0123 x a', []),
  keyCase('fcall f 1 a', [`3 ${RWAU}`]),
  keyCase('fcall f 0', []),
  keyCase('fcall_ro f 2 a b', [`3 ${ROA}`, `4 ${ROA}`]),
  keyCase('fcall_ro f 1x a', ['3']),
];

/** Commands with numkeys: sorted sets, SINTERCARD and the MPOP family. */
const NUMKEYS_CASES: KeyCase[] = [
  keyCase('zunionstore d 2 a b', [`1 ${OWU}`, `3 ${ROA}`, `4 ${ROA}`]),
  keyCase('zunionstore d 2 a b weights 1 2', [`1 ${OWU}`, `3 ${ROA}`, `4 ${ROA}`]),
  keyCase('zunionstore d 0 a', []),
  keyCase('zunionstore d 3 a b', []),
  keyCase('zunionstore d 2x a b', ['3', '4', '1']),
  keyCase('zinterstore d 1 a', [`1 ${OWU}`, `3 ${ROA}`]),
  keyCase('zdiffstore d 2 a b', [`1 ${OWU}`, `3 ${ROA}`, `4 ${ROA}`]),
  keyCase('zdiffstore d -2 a b', []),
  keyCase('zunion 2 a b', [`2 ${ROA}`, `3 ${ROA}`]),
  keyCase('zunion 0 a', []),
  keyCase('zunion 2x a b', ['2', '3']),
  keyCase('zinter 1 a withscores', [`2 ${ROA}`]),
  keyCase('zdiff 2 a b', [`2 ${ROA}`, `3 ${ROA}`]),
  keyCase('zintercard 2 a b limit 1', [`2 ${ROA}`, `3 ${ROA}`]),
  keyCase('sintercard 1 a', [`2 ${ROA}`]),
  keyCase('sintercard 5 a', []),
  keyCase('lmpop 2 a b left', [`2 ${RWAD}`, `3 ${RWAD}`]),
  keyCase('lmpop 3 a b left', [`2 ${RWAD}`, `3 ${RWAD}`, `4 ${RWAD}`]),
  keyCase('lmpop 9 a b left', []),
  keyCase('blmpop 0 2 a b left', [`3 ${RWAD}`, `4 ${RWAD}`]),
  keyCase('blmpop 0 x a left', []),
  keyCase('zmpop 1 a min', [`2 ${RWAD}`]),
  keyCase('bzmpop 0 1 a min', [`3 ${RWAD}`]),
  keyCase('bzmpop 0 1x a min', ['3']),
];

/** SORT and SORT_RO always go through Redis's procedures, because their specs include unknown ones. */
const SORT_CASES: KeyCase[] = [
  keyCase('sort k', [`1 ${ROA}`]),
  keyCase('sort k store d', [`1 ${ROA}`, `3 ${OWU}`]),
  keyCase('sort k STORE d', [`1 ${ROA}`, `3 ${OWU}`]),
  keyCase('sort k by p get g store d limit 0 1 store e', [`1 ${ROA}`, `12 ${OWU}`]),
  keyCase('sort k limit store x store d', [`1 ${ROA}`, `6 ${OWU}`]),
  keyCase('sort k store', [`1 ${ROA}`]),
  keyCase('sort k get store d', [`1 ${ROA}`]),
  keyCase('sort k store store d', [`1 ${ROA}`, `4 ${OWU}`]),
  keyCase(['sort', 'k', 'store\0x', 'd'], [`1 ${ROA}`, `3 ${OWU}`]),
  keyCase('sort_ro k by p get g', [`1 ${ROA}`]),
  keyCase('sort_ro k store d', [`1 ${ROA}`]),
];

/** MIGRATE: the key argument, unless KEYS follows an empty key argument. */
const MIGRATE_CASES: KeyCase[] = [
  keyCase('migrate h 1 k 0 10', [`3 ${RWAD}`]),
  keyCase('migrate h 1 k 0 10 copy replace', [`3 ${RWAD}`]),
  keyCase(['migrate', 'h', '1', '', '0', '10', 'keys', 'a', 'b'], [`7 ${RWAD}`, `8 ${RWAD}`]),
  keyCase('migrate h 1 k 0 10 keys a', []),
  keyCase(['migrate', 'h', '1', '', '0', '10', 'copy', 'replace', 'keys', 'a', 'b'], [`9 ${RWAD}`, `10 ${RWAD}`]),
  keyCase(['migrate', 'h', '1', '', '0', '10', 'auth', 'keys', 'keys', 'a'], [`9 ${RWAD}`]),
  keyCase(['migrate', 'h', '1', '', '0', '10', 'auth2', 'u', 'p', 'keys', 'a'], [`10 ${RWAD}`]),
  keyCase(['migrate', 'h', '1', '', '0', '10', 'keys'], [`3 ${RWAD}`]),
  keyCase(['migrate', 'h', '1', '', '0', '10', 'auth', 'keys'], [`3 ${RWAD}`]),
];

/** GEORADIUS: the STORE and STOREDIST specs are searched from argument 6 (5 for BYMEMBER), in spec order. */
const GEO_CASES: KeyCase[] = [
  keyCase('georadius k 1 2 3 m', [`1 ${ROA}`]),
  keyCase('georadius k 1 2 3 m store d', [`1 ${ROA}`, `7 ${OWU}`]),
  keyCase('georadius k 1 2 3 m storedist d', [`1 ${ROA}`, `7 ${OWU}`]),
  keyCase('georadius k 1 2 3 m store d storedist e', [`1 ${ROA}`, `7 ${OWU}`, `9 ${OWU}`]),
  keyCase('georadius k 1 2 3 m storedist e store d', [`1 ${ROA}`, `9 ${OWU}`, `7 ${OWU}`]),
  keyCase('georadius k 1 2 3 m store', [`1 ${ROA}`]),
  keyCase('georadius k 1 2 3 m withdist store d', [`1 ${ROA}`, `8 ${OWU}`]),
  keyCase('georadius k 1 2 3 m store store d', [`1 ${ROA}`, `7 ${OWU}`]),
  keyCase('georadiusbymember k m 3 m store d', [`1 ${ROA}`, `6 ${OWU}`]),
  keyCase('georadius_ro k 1 2 3 m', [`1 ${ROA}`]),
  keyCase('geosearchstore d s frommember m byradius 1 m', [`1 ${OWU}`, `2 ${ROA}`]),
];

/** XREAD and XREADGROUP: half of the arguments after the first STREAMS that the spec finds. */
const STREAM_CASES: KeyCase[] = [
  keyCase('xread streams a 0', [`2 ${ROA}`]),
  keyCase('xread Streams a 0', [`2 ${ROA}`]),
  keyCase('xread count 1 block 0 streams a b 0 0', [`6 ${ROA}`, `7 ${ROA}`]),
  keyCase('xread streams a b 0', [`2 ${ROA}`]),
  keyCase('xread streams streams a 0 0', [`2 ${ROA}`, `3 ${ROA}`]),
  keyCase('xread count streams streams a 0', [`3 ${ROA}`]),
  keyCase('xread block 0 streams a', []),
  keyCase('xread count 1 streams', []),
  keyCase(['xread', 'STREAMS\0junk', 'a', '0'], [`2 ${ROA}`]),
  keyCase('xreadgroup group g c streams a 0', [`5 ${ROA}`]),
  keyCase('xreadgroup group g c count 1 noack streams a b 0 0', [`8 ${ROA}`, `9 ${ROA}`]),
  keyCase('xreadgroup group g streams streams a 0', [`5 ${ROA}`]),
  keyCase('xadd k * f v', ['1 RW UPDATE']),
  keyCase('xgroup create k g $', ['2 RW INSERT']),
  keyCase('xinfo stream k', [`2 ${ROA}`]),
];

/** SET and BITFIELD declare VARIABLE_FLAGS, so their procedures set the flags from the options. */
const VARIABLE_FLAG_CASES: KeyCase[] = [
  keyCase('set k v', [`1 ${OWU}`]),
  keyCase('set k v get', [`1 ${RWAU}`]),
  keyCase('set k v ex 10 GET', [`1 ${RWAU}`]),
  keyCase('set k v nx', [`1 ${OWU}`]),
  keyCase('set k get', [`1 ${OWU}`]),
  keyCase(['set', 'k', 'v', 'get\0x'], [`1 ${RWAU}`]),
  keyCase('set k v gets', [`1 ${OWU}`]),
  keyCase('bitfield k', [`1 ${ROA}`]),
  keyCase('bitfield k get u8 0', [`1 ${ROA}`]),
  keyCase('bitfield k get u8 0 set u8 0 1', [`1 ${RWAU}`]),
  keyCase('bitfield k overflow wrap get u8 0', [`1 ${ROA}`]),
  keyCase('bitfield k get u8', [`1 ${RWAU}`]),
  keyCase('bitfield k incrby u8 0 1', [`1 ${RWAU}`]),
  keyCase('bitfield k overflow', [`1 ${RWAU}`]),
  keyCase('bitfield_ro k get u8 0', [`1 ${ROA}`]),
];

/** Commands whose specs alone give the keys, and commands without keys. */
const SPEC_CASES: KeyCase[] = [
  keyCase('get k', [`1 ${ROA}`]),
  keyCase('mset a 1 b 2', [`1 ${OWU}`, `3 ${OWU}`]),
  keyCase('mset a 1 b', [`1 ${OWU}`, `3 ${OWU}`]),
  keyCase('del a b c', ['1 RM DELETE', '2 RM DELETE', '3 RM DELETE']),
  keyCase('lmove a b left right', [`1 ${RWAD}`, '2 RW INSERT']),
  keyCase('rename a b', [`1 ${RWAD}`, `2 ${OWU}`]),
  keyCase('blpop a b 0', [`1 ${RWAD}`, `2 ${RWAD}`]),
  keyCase('object encoding k', ['2 RO']),
  keyCase('memory usage k', ['2 RO']),
  keyCase('bitop and d a b', [`2 ${OWU}`, `3 ${ROA}`, `4 ${ROA}`]),
  keyCase('pfcount a b', [`1 RW ACCESS`, `2 RW ACCESS`]),
  keyCase('spublish ch m', []),
  keyCase('ssubscribe a b', []),
  keyCase('publish ch m', []),
  keyCase('keys *', []),
  keyCase('client list', []),
  keyCase('wait 0 0', []),
];

/** Every hand-picked case, for both the unit test and the differential test. */
export const TARGETED_REQUESTS: readonly KeyCase[] = [
  ...SCRIPT_CASES,
  ...NUMKEYS_CASES,
  ...SORT_CASES,
  ...MIGRATE_CASES,
  ...GEO_CASES,
  ...STREAM_CASES,
  ...VARIABLE_FLAG_CASES,
  ...SPEC_CASES,
];
