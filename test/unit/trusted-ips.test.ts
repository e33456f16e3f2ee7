import { describe, expect, it } from 'vitest';
import { isTrustedIp, parseTrustedIps, plainAddress } from '../../src/core/trusted-ips.ts';

describe('trusted IPs (SPEC J1)', () => {
  it('reads an IPv4 address mapped into IPv6 as the IPv4 address, however it is written', () => {
    for (const mapped of ['::ffff:192.0.2.7', '::FFFF:192.0.2.7', '::Ffff:192.0.2.7']) {
      expect(plainAddress(mapped), mapped).toBe('192.0.2.7');
    }
    expect(plainAddress('::ffff:c000:207')).toBe('::ffff:c000:207');
    expect(plainAddress('2001:db8::1')).toBe('2001:db8::1');
  });

  it('matches single addresses, ranges and CIDR blocks of both families', () => {
    const list = parseTrustedIps(['192.0.2.7', '198.51.100.10-198.51.100.20', '2001:db8::/32']);
    expect(isTrustedIp(list, plainAddress('::FFFF:192.0.2.7'))).toBe(true);
    expect(isTrustedIp(list, '198.51.100.15')).toBe(true);
    expect(isTrustedIp(list, '198.51.100.21')).toBe(false);
    expect(isTrustedIp(list, '2001:db8:1::5')).toBe(true);
    expect(isTrustedIp(list, '2001:db9::5')).toBe(false);
  });
});
