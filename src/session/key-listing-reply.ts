/**
 * Rewrites the upstream's reply to SCAN, KEYS, RANDOMKEY or CLUSTER GETKEYSINSLOT so that it lists
 * only the keys a filter accepts. These replies are decoded and encoded again, unlike the data
 * path's other replies, which are forwarded as they came.
 */
import { encodeArray, encodeBulk, type Protocol } from '../resp/encode.js';
import { decodeReply } from '../resp/reply-value.js';

/**
 * Returns the reply with unreadable keys left out: SCAN keeps its cursor, KEYS and CLUSTER
 * GETKEYSINSLOT their order, and RANDOMKEY answers a null reply when the key it drew may not be
 * read. Error replies and replies of an unexpected shape are returned unchanged.
 */
export function filterKeyListingReply(command: string, reply: Buffer, readable: (key: Buffer) => boolean, protocol: Protocol): Buffer {
  if (reply[0] === 0x2d /* '-' */) return reply;
  const value = decodeReply(reply);
  if (command === 'randomkey') {
    return Buffer.isBuffer(value) && !readable(value) ? encodeBulk(null, protocol) : reply;
  }
  if (command === 'keys' || command === 'cluster|getkeysinslot') {
    return Array.isArray(value) ? encodeKeys(value, readable, protocol) ?? reply : reply;
  }
  if (command === 'scan' && Array.isArray(value) && value.length === 2 && Buffer.isBuffer(value[0]) && Array.isArray(value[1])) {
    const keys = encodeKeys(value[1], readable, protocol);
    return keys ? encodeArray([encodeBulk(value[0], protocol), keys]) : reply;
  }
  return reply;
}

/** Encodes the readable keys as an array, or returns null when every key is readable (the reply stays as it came). */
function encodeKeys(items: readonly unknown[], readable: (key: Buffer) => boolean, protocol: Protocol): Buffer | null {
  const keys = items.filter((item): item is Buffer => Buffer.isBuffer(item));
  const kept = keys.filter((key) => readable(key));
  if (kept.length === items.length) return null;
  return encodeArray(kept.map((key) => encodeBulk(key, protocol)));
}
