/**
 * Error replies that the session sends itself, with Redis 7.0's texts where Redis has one, as
 * prebuilt Buffers. Texts never include argument values, which could hold secrets.
 */
import { encodeError } from '../resp/encode.js';

export const NOAUTH = encodeError('NOAUTH Authentication required.');
export const WRONGPASS = encodeError('WRONGPASS invalid username-password pair or user is disabled.');
export const NOPROTO = encodeError('NOPROTO unsupported protocol version');
export const HELLO_NOAUTH = encodeError(
  'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
);
export const HELLO_BAD_VERSION = encodeError('ERR Protocol version is not an integer or out of range');
export const AUTH_DEFAULT_NOPASS = encodeError(
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
);
export const SYNTAX_ERROR = encodeError('ERR syntax error');
export const INTERNAL_ERROR = encodeError('ERR respguard internal error; the connection is closed (see the respguard log)');
export const BAD_CLIENT_NAME = encodeError('ERR Client names cannot contain spaces, newlines or special characters.');
export const NOT_INTEGER = encodeError('ERR value is not an integer or out of range');
export const DB_OUT_OF_RANGE = encodeError('ERR DB index is out of range');
/** Redis Cluster's reply to SELECT of a database other than 0, as redis-server 7.0 words it. */
export const SELECT_IN_CLUSTER = encodeError('ERR SELECT is not allowed in cluster mode');
export const EXEC_WITHOUT_MULTI = encodeError('ERR EXEC without MULTI');
export const DISCARD_WITHOUT_MULTI = encodeError('ERR DISCARD without MULTI');
export const NESTED_MULTI = encodeError('ERR MULTI calls can not be nested');
export const WATCH_IN_MULTI = encodeError('ERR WATCH inside MULTI is not allowed');
export const MAX_CLIENTS = encodeError('ERR max number of clients reached');

export const CACHING_WITHOUT_TRACKING = encodeError(
  'ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled',
);
export const NO_SUCH_REDIRECT_CLIENT = encodeError('ERR The client ID you want redirect to does not exist');
export const EXECABORT = encodeError('EXECABORT Transaction discarded because of previous errors.');
export const EXECABORT_POLICY_CHANGED = encodeError(
  'EXECABORT Transaction discarded because the ACL rules changed between the moment the transaction was accumulated and the EXEC call',
);

/** Redis's reply to a command that a RESP2 client in subscribed mode may not run. */
export function notAllowedWhileSubscribed(name: string): Buffer {
  return encodeError(`ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
}

/** Reply for a command that respguard answers itself, inside MULTI, where it cannot be queued upstream. */
export function notSupportedInMulti(name: string): Buffer {
  return encodeError(`ERR '${name}' inside MULTI is not supported by respguard; run it outside the transaction`);
}

/** Reply when every connection that sessions may pin is in use. */
export function noPinnedConnection(name: string, maxPinned: number): Buffer {
  return encodeError(
    `ERR respguard has no upstream connection free for '${name}': all ${maxPinned} connections for transactions, pub/sub and blocking commands are in use (upstream.pool.maxPinned); try again later`,
  );
}

/** Reply while no upstream connection can take the request. */
export function upstreamUnavailableText(reason: string): Buffer {
  return encodeError(`ERR upstream unavailable (${reason || 'connecting'}); respguard is reconnecting, try again`);
}

/**
 * Cluster mode: reply for a command whose keys are served by another cluster node than the
 * connection pinned for the client's `state` (MULTI, WATCH, CLIENT TRACKING, ...).
 */
export function keysOnOtherNode(name: string, state: string): Buffer {
  return encodeError(
    `ERR '${name}' cannot run: its keys are on another cluster node than the upstream connection that holds this client's ${state} state. Use another connection, or end that state first (RESET ends all)`,
  );
}

/**
 * Cluster mode: reply in place of a MOVED or ASK redirect that came back on the connection
 * pinned for the client's `state`, where respguard cannot send the command to the other node.
 */
export function slotMovedWhilePinned(name: string, state: string): Buffer {
  const transaction = state === 'MULTI' ? ', and EXEC will fail with EXECABORT' : '';
  return encodeError(
    `ERR '${name}' did not run: its hash slot is moving to another cluster node, which the upstream connection that holds this client's ${state} state cannot follow${transaction}. Try again later`,
  );
}
