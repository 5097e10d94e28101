/**
 * Source address allowlists: the `sources` CIDR lists of listeners and users. A listener checks
 * the peer address when it accepts a connection, and admission checks it again for the user at
 * login. IPv4 addresses are compared as IPv4 whichever way they arrive: a dual-stack listener
 * reports an IPv4 client as `::ffff:10.0.0.1`, which must match `10.0.0.0/8`, and a range
 * written in the IPv4-mapped form (`::ffff:10.0.0.0/104`) matches plain IPv4 addresses.
 */
import { parseCidr, type Cidr } from '../config/cidr.js';

interface Range {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** A compiled allowlist. An address that cannot be parsed is never allowed. */
export class AddressAllowlist {
  private readonly ranges: readonly Range[];

  /** `cidrs` are ranges as the config validator stores them (`10.0.0.0/8`, `::1/128`). */
  constructor(readonly cidrs: readonly string[]) {
    this.ranges = cidrs.map((text) => {
      const parsed = parseCidr(text);
      if (!parsed.ok) throw new Error(`invalid CIDR range ${JSON.stringify(text)}: expected ${parsed.expected}`);
      return toRange(parsed.cidr);
    });
  }

  /** Tests whether `address` (as `socket.remoteAddress` reports it) lies in one of the ranges. */
  allows(address: string): boolean {
    const bytes = addressBytes(address);
    if (bytes === null) return false;
    return this.ranges.some((range) => range.bytes.length === bytes.length && inRange(range, bytes));
  }
}

/**
 * Returns the bytes of an IP address, with IPv4-mapped IPv6 addresses as 4 IPv4 bytes. A zone
 * index (`fe80::1%eth0`) is dropped, because ranges in the config cannot name a zone.
 */
function addressBytes(address: string): Uint8Array | null {
  const withoutZone = address.split('%')[0]!;
  if (withoutZone === '' || withoutZone.includes('/')) return null;
  const parsed = parseCidr(withoutZone);
  return parsed.ok ? toRange(parsed.cidr).bytes : null;
}

/** Converts an IPv4-mapped IPv6 range (`::ffff:0:0/96` and narrower) into the IPv4 range it covers. */
function toRange(cidr: Cidr): Range {
  if (cidr.family === 6 && cidr.prefix >= 96 && isIpv4Mapped(cidr.bytes)) {
    return { bytes: cidr.bytes.slice(12), prefix: cidr.prefix - 96 };
  }
  return { bytes: cidr.bytes, prefix: cidr.prefix };
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function inRange(range: Range, bytes: Uint8Array): boolean {
  let bitsLeft = range.prefix;
  for (let i = 0; bitsLeft > 0; i++, bitsLeft -= 8) {
    const mask = bitsLeft >= 8 ? 0xff : (0xff << (8 - bitsLeft)) & 0xff;
    if ((range.bytes[i]! & mask) !== (bytes[i]! & mask)) return false;
  }
  return true;
}
