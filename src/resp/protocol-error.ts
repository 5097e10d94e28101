/**
 * Limits and errors of the request decoder. The reply texts are Redis 7.0's, byte for byte as
 * redis-server 7.0.15 sends them, except the two CRLF texts that only respguard sends.
 */

/** Size limits for client requests. */
export interface DecoderLimits {
  /** Maximum bytes in one argument, like Redis's proto-max-bulk-len (default 512 MiB). */
  maxBulkLength: number;
  /** Maximum arguments in one command (default 1024 * 1024). */
  maxMultibulkLength: number;
  /** Maximum buffered input not yet returned as commands, like client-query-buffer-limit (default 1 GiB). */
  maxQueryBuffer: number;
}

export const DEFAULT_DECODER_LIMITS: Readonly<DecoderLimits> = Object.freeze({
  maxBulkLength: 512 * 1024 * 1024,
  maxMultibulkLength: 1024 * 1024,
  maxQueryBuffer: 1024 * 1024 * 1024,
});

/** Maximum arguments per command before authentication, as in Redis 7.0. */
export const PRE_AUTH_MAX_ARGS = 10;
/** Maximum bytes per argument before authentication, as in Redis 7.0. */
export const PRE_AUTH_MAX_BULK_LENGTH = 16384;
/** Maximum buffered input before authentication. Redis 7.0 has no such cap, respguard adds it. */
export const PRE_AUTH_MAX_QUERY_BUFFER = 1024 * 1024;
/** Maximum bytes before a line end (PROTO_INLINE_MAX_SIZE in Redis). */
export const PROTO_INLINE_MAX_SIZE = 64 * 1024;

/** Short, stable reason of a ProtocolError, for metrics and logs. */
export type ProtocolErrorKind =
  | 'too_big_mbulk_count'
  | 'invalid_multibulk_length'
  | 'unauthenticated_multibulk_length'
  | 'too_big_bulk_count'
  | 'expected_dollar'
  | 'invalid_bulk_length'
  | 'unauthenticated_bulk_length'
  | 'missing_lf'
  | 'missing_crlf_after_bulk'
  | 'too_big_inline_request'
  | 'unbalanced_quotes'
  | 'query_buffer_limit'
  | 'cross_protocol';

const TOO_BIG_LINE_REPLIES = {
  too_big_mbulk_count: 'ERR Protocol error: too big mbulk count string',
  too_big_bulk_count: 'ERR Protocol error: too big bulk count string',
  too_big_inline_request: 'ERR Protocol error: too big inline request',
} as const;

/**
 * Input that Redis rejects. The session sends `reply` as an error reply and then closes the
 * connection, or closes without a reply when `reply` is null, as Redis does for the query
 * buffer limit and for HTTP requests.
 */
export class ProtocolError extends Error {
  /** Error reply payload without `-` and CRLF, e.g. "ERR Protocol error: invalid bulk length". */
  readonly reply: string | null;
  readonly kind: ProtocolErrorKind;

  constructor(kind: ProtocolErrorKind, reply: string | null, description?: string) {
    super(reply ?? description ?? kind);
    this.name = 'ProtocolError';
    this.kind = kind;
    this.reply = reply;
  }

  /** Whether the connection closes without an error reply. */
  get closeWithoutReply(): boolean {
    return this.reply === null;
  }

  /** The error for a line with no line end within PROTO_INLINE_MAX_SIZE bytes. */
  static tooBigLine(kind: keyof typeof TOO_BIG_LINE_REPLIES): ProtocolError {
    return new ProtocolError(kind, TOO_BIG_LINE_REPLIES[kind]);
  }

  /**
   * The error for a bulk that does not start with `$`. Like Redis, it quotes the byte found and
   * shows CR and LF as a space. The byte becomes the character with that code (latin1).
   *
   * NOTE: encodeError() writes UTF-8, so a byte above 0x7f reaches the client as two bytes
   * where Redis sends the one byte it found.
   */
  static expectedDollar(byte: number): ProtocolError {
    const found = byte === 0x0d || byte === 0x0a ? ' ' : String.fromCharCode(byte);
    return new ProtocolError('expected_dollar', `ERR Protocol error: expected '$', got '${found}'`);
  }
}

export function invalidMultibulkLength(): ProtocolError {
  return new ProtocolError('invalid_multibulk_length', 'ERR Protocol error: invalid multibulk length');
}

export function unauthenticatedMultibulkLength(): ProtocolError {
  return new ProtocolError('unauthenticated_multibulk_length', 'ERR Protocol error: unauthenticated multibulk length');
}

export function invalidBulkLength(): ProtocolError {
  return new ProtocolError('invalid_bulk_length', 'ERR Protocol error: invalid bulk length');
}

export function unauthenticatedBulkLength(): ProtocolError {
  return new ProtocolError('unauthenticated_bulk_length', 'ERR Protocol error: unauthenticated bulk length');
}
