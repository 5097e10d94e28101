/**
 * CIDR parsing for the `sources` allowlists and the loopback tests of protected mode. The
 * validator stores every range as `address/prefix`, so the listeners can hand it to
 * `net.BlockList.addSubnet` without parsing it again.
 */
import net from 'node:net';

/** A parsed address range. */
export interface Cidr {
  readonly family: 4 | 6;
  /** Address as written, lower case, without the prefix. */
  readonly address: string;
  readonly prefix: number;
  /** The address in network byte order: 4 bytes for IPv4, 16 for IPv6. */
  readonly bytes: Uint8Array;
}

/** Result of {@link parseCidr}: the range, or what was expected instead (`an IPv4 or IPv6 range …`). */
export type CidrParse = { readonly ok: true; readonly cidr: Cidr } | { readonly ok: false; readonly expected: string };

/**
 * Parses `10.0.0.0/8`, `::1/128` or a bare address (a single host, /32 or /128). Rejects a
 * range whose host bits are set (`10.0.0.1/8`), because in an allowlist that is more often a
 * typo than a deliberate spelling of `10.0.0.0/8`.
 */
export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  const address = (slash === -1 ? text : text.slice(0, slash)).toLowerCase();
  const version = net.isIP(address);
  if (version === 0 || address.includes('%')) {
    return { ok: false, expected: 'an IPv4 or IPv6 range such as "10.0.0.0/8" or "::1/128"' };
  }

  const family = version === 4 ? 4 : 6;
  const bits = family === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
    return { ok: false, expected: `a prefix length from 0 to ${bits} after the "/"` };
  }

  const prefix = Number(prefixText);
  const bytes = family === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  const network = maskBytes(bytes, prefix);
  if (!bytesEqual(network, bytes)) {
    const suggestion = `${formatNetwork(family, network)}/${prefix}`;
    return { ok: false, expected: `the network address "${suggestion}", because host bits are set` };
  }
  return { ok: true, cidr: { family, address, prefix, bytes } };
}

/** Formats a parsed range as `address/prefix`. */
export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

/**
 * Tests whether a listen address is a loopback address: `localhost`, 127.0.0.0/8 or `::1`
 * (also in its IPv4-mapped form `::ffff:127.x.x.x`). Other host names count as exposed,
 * because what they resolve to can change after the check.
 */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  if (net.isIP(host) === 0) return false;
  const parsed = parseCidr(host);
  return parsed.ok && isLoopbackCidr(parsed.cidr);
}

/** Tests whether every address of the range is a loopback address. */
export function isLoopbackCidr(cidr: Cidr): boolean {
  if (cidr.family === 4) return cidr.prefix >= 8 && cidr.bytes[0] === 127;
  if (cidr.prefix === 128 && cidr.bytes.every((byte, i) => byte === (i === 15 ? 1 : 0))) return true;
  return cidr.prefix >= 104 && isIpv4Mapped(cidr.bytes) && cidr.bytes[12] === 127;
}

function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function ipv4Bytes(address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(Number));
}

/** Converts an address that `net.isIP` accepted as IPv6, including `::` and an IPv4 tail. */
function ipv6Bytes(address: string): Uint8Array {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const lastGroup = text.slice(lastColon + 1);
  if (lastGroup.includes('.')) {
    const v4 = ipv4Bytes(lastGroup);
    const high = ((v4[0]! << 8) | v4[1]!).toString(16);
    const low = ((v4[2]! << 8) | v4[3]!).toString(16);
    text = `${text.slice(0, lastColon + 1)}${high}:${low}`;
  }

  const [headText, tailText] = text.split('::') as [string, string | undefined];
  const head = headText ? headText.split(':') : [];
  const tail = tailText ? tailText.split(':') : [];
  const zeros = tailText === undefined ? [] : new Array<string>(8 - head.length - tail.length).fill('0');
  const bytes = new Uint8Array(16);
  [...head, ...zeros, ...tail].forEach((group, i) => {
    const word = parseInt(group, 16);
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  return bytes;
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const masked = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    masked[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return masked;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function formatNetwork(family: 4 | 6, bytes: Uint8Array): string {
  if (family === 4) return Array.from(bytes).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));

  // RFC 5952 shortens the first longest run of two or more zero groups to "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let end = i;
    while (end < 8 && groups[end] === '0') end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end === i ? i + 1 : end;
  }
  if (bestStart === -1) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}
