/**
 * Redis Cluster hash slots: which of the 16384 slots a key belongs to. Routing in cluster mode
 * depends on this matching Redis exactly. The slot is CRC16 (the XMODEM variant, polynomial
 * 0x1021, initial value 0) of the key modulo 16384. A hash tag narrows the hashed bytes to those
 * between the first `{` and the first `}` after it, provided at least one byte lies between them.
 */

/** Number of hash slots in a Redis Cluster. */
export const SLOT_COUNT = 16384;

const CRC16_TABLE = buildCrc16Table();

function buildCrc16Table(): Uint16Array {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
}

/** Computes CRC16/XMODEM of `bytes[start, end)`. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** Returns the hash slot of `key`, honouring a hash tag such as the `user1` of `{user1}:cart`. */
export function keySlot(key: Uint8Array): number {
  const open = key.indexOf(0x7b /* '{' */);
  if (open !== -1) {
    const close = key.indexOf(0x7d /* '}' */, open + 1);
    // `{}` hashes the whole key: an empty tag would put every such key in one slot.
    if (close > open + 1) return crc16(key, open + 1, close) & (SLOT_COUNT - 1);
  }
  return crc16(key) & (SLOT_COUNT - 1);
}
