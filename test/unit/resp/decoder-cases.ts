/**
 * Request decoder inputs that must fail, with the error each one must produce. Shared by the
 * decoder's unit tests and the differential test against redis-server.
 */

export interface ErrorCase {
  input: string;
  reply: string | null;
  kind: string;
  /** Whether the decoder runs as authenticated; true unless set. */
  authenticated?: boolean;
  /** For a stricter case, what redis-server 7.0.15 sends instead, or 'TIMEOUT' when it waits for more input. */
  redisReply?: string;
}

export const INVALID_MULTIBULK = 'ERR Protocol error: invalid multibulk length';
const INVALID_BULK = 'ERR Protocol error: invalid bulk length';
const UNAUTH_MULTIBULK = 'ERR Protocol error: unauthenticated multibulk length';
export const UNAUTH_BULK = 'ERR Protocol error: unauthenticated bulk length';
const MISSING_LF = 'ERR Protocol error: missing LF after CR';
const MISSING_CRLF = 'ERR Protocol error: missing CRLF after bulk data';
const UNBALANCED = 'ERR Protocol error: unbalanced quotes in request';

/** Inputs that redis-server 7.0.15 rejects with the same reply. */
export const ERROR_CASES: ErrorCase[] = [
  { input: '*1 \r\n', reply: INVALID_MULTIBULK, kind: 'invalid_multibulk_length' },
  { input: '*+5\r\n', reply: INVALID_MULTIBULK, kind: 'invalid_multibulk_length' },
  { input: '*05\r\n', reply: INVALID_MULTIBULK, kind: 'invalid_multibulk_length' },
  { input: '*-0\r\n', reply: INVALID_MULTIBULK, kind: 'invalid_multibulk_length' },
  { input: '*\r\n', reply: INVALID_MULTIBULK, kind: 'invalid_multibulk_length' },
  { input: '*2147483648\r\n', reply: INVALID_MULTIBULK, kind: 'invalid_multibulk_length' },
  { input: '*99999999999999999999\r\n', reply: INVALID_MULTIBULK, kind: 'invalid_multibulk_length' },
  { input: '*11\r\n', reply: UNAUTH_MULTIBULK, kind: 'unauthenticated_multibulk_length', authenticated: false },
  { input: '*1\r\n\r\n', reply: "ERR Protocol error: expected '$', got ' '", kind: 'expected_dollar' },
  { input: '*1\r\n\nx\r\n', reply: "ERR Protocol error: expected '$', got ' '", kind: 'expected_dollar' },
  { input: '*1\r\nX4\r\nPING\r\n', reply: "ERR Protocol error: expected '$', got 'X'", kind: 'expected_dollar' },
  { input: '*1\r\n$-1\r\n', reply: INVALID_BULK, kind: 'invalid_bulk_length' },
  { input: '*1\r\n$+4\r\nPING\r\n', reply: INVALID_BULK, kind: 'invalid_bulk_length' },
  { input: '*1\r\n$04\r\nPING\r\n', reply: INVALID_BULK, kind: 'invalid_bulk_length' },
  { input: '*1\r\n$\r\n', reply: INVALID_BULK, kind: 'invalid_bulk_length' },
  { input: '*1\r\n$4x\r\n', reply: INVALID_BULK, kind: 'invalid_bulk_length' },
  { input: '*1\r\n$536870913\r\n', reply: INVALID_BULK, kind: 'invalid_bulk_length' },
  { input: '*1\r\n$16385\r\n', reply: UNAUTH_BULK, kind: 'unauthenticated_bulk_length', authenticated: false },
  { input: `*${'1'.repeat(65537)}`, reply: 'ERR Protocol error: too big mbulk count string', kind: 'too_big_mbulk_count' },
  { input: `*1\r\n$${'1'.repeat(65537)}`, reply: 'ERR Protocol error: too big bulk count string', kind: 'too_big_bulk_count' },
  { input: 'a'.repeat(65537), reply: 'ERR Protocol error: too big inline request', kind: 'too_big_inline_request' },
  { input: 'ECHO "a\r\n', reply: UNBALANCED, kind: 'unbalanced_quotes' },
  { input: 'ECHO "a"b\r\n', reply: UNBALANCED, kind: 'unbalanced_quotes' },
  { input: "ECHO 'a\r\n", reply: UNBALANCED, kind: 'unbalanced_quotes' },
  { input: 'POST / HTTP/1.1\r\n', reply: null, kind: 'cross_protocol' },
  { input: 'host: example\r\n', reply: null, kind: 'cross_protocol' },
  { input: '*1\r\n$5\r\nHoSt:\r\n', reply: null, kind: 'cross_protocol', authenticated: false },
];

/**
 * Inputs that respguard rejects and Redis 7.0 accepts. An inline line longer than 64 KiB has no
 * `redisReply` because whether Redis accepts it depends on how its reads split the line.
 */
export const STRICTER_CASES: ErrorCase[] = [
  { input: '*1048577\r\n', reply: INVALID_MULTIBULK, kind: 'invalid_multibulk_length', redisReply: 'TIMEOUT' },
  { input: '*1\rX$4\r\nPING\r\n', reply: MISSING_LF, kind: 'missing_lf', redisReply: '+PONG\r\n' },
  { input: '*1\r\n$4\rXPING\r\n', reply: MISSING_LF, kind: 'missing_lf', redisReply: '+PONG\r\n' },
  { input: '*1\r\n$4\r\nPINGxx', reply: MISSING_CRLF, kind: 'missing_crlf_after_bulk', redisReply: '+PONG\r\n' },
  { input: '*1\r\n$4\r\nPING\rX', reply: MISSING_CRLF, kind: 'missing_crlf_after_bulk', redisReply: '+PONG\r\n' },
  { input: `ECHO ${'a'.repeat(65536)}\r\n`, reply: 'ERR Protocol error: too big inline request', kind: 'too_big_inline_request' },
  {
    input: 'RPUSH k 1 2 3 4 5 6 7 8 9\r\n',
    reply: UNAUTH_MULTIBULK,
    kind: 'unauthenticated_multibulk_length',
    authenticated: false,
    redisReply: '-NOAUTH Authentication required.\r\n',
  },
  {
    input: `ECHO ${'a'.repeat(16385)}\r\n`,
    reply: UNAUTH_BULK,
    kind: 'unauthenticated_bulk_length',
    authenticated: false,
    redisReply: '-NOAUTH Authentication required.\r\n',
  },
];
