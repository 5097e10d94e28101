/**
 * Error replies that the session sends itself, with Redis 7.0's texts where Redis has one, as
 * prebuilt Buffers. Texts never include argument values, which could hold secrets.
 */
import { encodeError } from '../resp/encode.js';

export const NOAUTH = encodeError('NOAUTH Authentication required.');
export const WRONGPASS = encodeError('WRONGPASS invalid username-password pair or user is disabled.');
export const NOPROTO = encodeError('NOPROTO unsupported protocol version');
export const HELLO_NOAUTH = encodeError(
  'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
);
export const HELLO_BAD_VERSION = encodeError('ERR Protocol version is not an integer or out of range');
export const AUTH_DEFAULT_NOPASS = encodeError(
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
);
export const SYNTAX_ERROR = encodeError('ERR syntax error');
export const BAD_CLIENT_NAME = encodeError('ERR Client names cannot contain spaces, newlines or special characters.');
export const NOT_INTEGER = encodeError('ERR value is not an integer or out of range');
export const DB_OUT_OF_RANGE = encodeError('ERR DB index is out of range');
export const EXEC_WITHOUT_MULTI = encodeError('ERR EXEC without MULTI');
export const DISCARD_WITHOUT_MULTI = encodeError('ERR DISCARD without MULTI');
export const MAX_CLIENTS = encodeError('ERR max number of clients reached');

/** Reply for a command that needs an upstream connection of its own, which this version does not provide. */
export function needsOwnConnectionText(name: string): Buffer {
  return encodeError(
    `ERR '${name}' is not supported by respguard yet: it needs an upstream connection of its own (transactions, pub/sub, blocking commands, SELECT of another database, tracking and MONITOR)`,
  );
}

/** Reply while no upstream connection can take the request. */
export function upstreamUnavailableText(reason: string): Buffer {
  return encodeError(`ERR upstream unavailable (${reason || 'connecting'}); respguard is reconnecting, try again`);
}
