/**
 * Reading replies on a pinned connection just enough to route them: pub/sub messages, tracking
 * invalidations and MONITOR lines go to the client as they come, while replies to requests fill
 * the session's reply slots in order.
 */
import { encodeArray, encodeBulk, encodeInteger, type Protocol } from '../resp/encode.js';

const UNSOLICITED_KINDS = new Set(['message', 'pmessage', 'smessage', 'invalidate']);
const CONFIRMATION_KINDS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);

/**
 * Returns the first element of an aggregate reply (`*` or `>`) when it is a bulk string, as
 * latin1 text, or null. Reads only the two header lines.
 */
export function firstElement(bytes: Buffer): string | null {
  if (bytes[0] !== 0x2a && bytes[0] !== 0x3e) return null;
  const firstLineEnd = bytes.indexOf(0x0d);
  if (firstLineEnd < 0 || bytes[firstLineEnd + 2] !== 0x24) return null;
  const lengthEnd = bytes.indexOf(0x0d, firstLineEnd + 2);
  if (lengthEnd < 0) return null;
  const length = Number(bytes.toString('latin1', firstLineEnd + 3, lengthEnd));
  if (!Number.isInteger(length) || length < 0 || length > 32) return null;
  return bytes.toString('latin1', lengthEnd + 2, lengthEnd + 2 + length);
}

/** True for a pub/sub message or tracking invalidation (`message`, `pmessage`, `smessage`, `invalidate`). */
export function isMessage(bytes: Buffer): boolean {
  const kind = firstElement(bytes);
  return kind !== null && UNSOLICITED_KINDS.has(kind);
}

/** True for a (un)subscribe confirmation. */
export function isConfirmation(bytes: Buffer): boolean {
  const kind = firstElement(bytes);
  return kind !== null && CONFIRMATION_KINDS.has(kind);
}

/** Reads the subscription count that ends a (un)subscribe confirmation, or -1. */
export function confirmationCount(bytes: Buffer): number {
  const end = bytes.length - 2;
  const colon = bytes.lastIndexOf(0x3a, end);
  if (colon < 0) return -1;
  const count = Number(bytes.toString('latin1', colon + 1, end));
  return Number.isInteger(count) ? count : -1;
}

const MONITOR_LINE = /^\+\d+\.\d+ \[/;

/** True for a MONITOR output line (`+1700000000.123456 [0 127.0.0.1:5000] "GET" "k"`). */
export function isMonitorLine(bytes: Buffer): boolean {
  return bytes[0] === 0x2b && MONITOR_LINE.test(bytes.toString('latin1', 0, Math.min(bytes.length, 40)));
}

/**
 * The replies Redis sends for an UNSUBSCRIBE-family command on a connection without
 * subscriptions of that kind: one per argument, or one with a null channel when there is none.
 */
export function unsubscribeReplies(kind: string, channels: readonly Buffer[], protocol: Protocol): Buffer {
  const names: (Buffer | null)[] = channels.length > 0 ? [...channels] : [null];
  const replies = names.map((channel) => {
    const items = [encodeBulk(kind, protocol), encodeBulk(channel, protocol), encodeInteger(0)];
    if (protocol === 2) return encodeArray(items);
    return Buffer.concat([Buffer.from(`>${items.length}\r\n`), ...items]);
  });
  return Buffer.concat(replies);
}
