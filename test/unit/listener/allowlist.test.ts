import { describe, expect, it } from 'vitest';
import { AddressAllowlist } from '../../../src/listener/allowlist.js';

describe('AddressAllowlist', () => {
  it.each([
    [['10.0.0.0/8'], '10.1.2.3', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['10.0.0.0/8'], '::ffff:10.1.2.3', true],
    [['10.0.0.0/8'], '::ffff:11.0.0.1', false],
    [['10.1.0.0/16'], '10.1.255.255', true],
    [['10.1.0.0/16'], '10.2.0.0', false],
    [['192.168.1.128/25'], '192.168.1.200', true],
    [['192.168.1.128/25'], '192.168.1.127', false],
    [['127.0.0.1/32'], '127.0.0.1', true],
    [['127.0.0.1/32'], '127.0.0.2', false],
    [['0.0.0.0/0'], '203.0.113.9', true],
    [['0.0.0.0/0'], '2001:db8::1', false],
    [['::1/128'], '::1', true],
    [['::1/128'], '127.0.0.1', false],
    [['2001:db8::/32'], '2001:db8:ffff::1', true],
    [['2001:db8::/32'], '2001:db9::1', false],
    [['::/0'], '2001:db8::1', true],
    [['::/0'], '10.0.0.1', false],
    [['::ffff:10.0.0.0/104'], '10.0.0.7', true],
    [['::ffff:10.0.0.0/104'], '::ffff:10.0.0.7', true],
    [['::ffff:10.0.0.0/104'], '11.0.0.7', false],
    [['fe80::/10'], 'fe80::1%eth0', true],
    [['10.0.0.0/8', '::1/128'], '::1', true],
    [['10.0.0.0/8', '::1/128'], '10.9.9.9', true],
  ])('%j allows %s: %s', (cidrs, address, expected) => {
    expect(new AddressAllowlist(cidrs).allows(address)).toBe(expected);
  });

  it.each(['', 'not-an-address', '10.0.0.1/32', '10.0.0.256'])('rejects the address %j', (address) => {
    expect(new AddressAllowlist(['0.0.0.0/0', '::/0']).allows(address)).toBe(false);
  });

  it('throws on an invalid range', () => {
    expect(() => new AddressAllowlist(['10.0.0.1/8'])).toThrow(
      'invalid CIDR range "10.0.0.1/8": expected the network address "10.0.0.0/8", because host bits are set',
    );
  });
});
