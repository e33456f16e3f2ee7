import { describe, expect, it } from 'vitest';
import {
  defaultSettings,
  formatSetting,
  mergeSettings,
  parseSetting,
  SettingError,
} from '../../src/core/settings.ts';
import { isTrustedIp, parseTrustedIps, TrustedIpError } from '../../src/core/trusted-ips.ts';

describe('portal settings (SPEC §5)', () => {
  it('parses what an administrator types', () => {
    expect(parseSetting('allowEnrollment', 'false')).toBe(false);
    expect(parseSetting('deviceLimit', '10')).toBe(10);
    expect(parseSetting('allowedMethods', 'app, token,app')).toEqual(['app', 'token']);
    expect(parseSetting('smsDirection', 'two-way')).toBe('two-way');
    expect(parseSetting('callsAndTextsPerAddressPerHour', '500')).toBe(500);
    expect(parseSetting('trustedIps', '10.0.0.0/8, 2001:db8::1')).toEqual([
      '10.0.0.0/8',
      '2001:db8::1',
    ]);
  });

  it.each([
    ['allowEnrollment', 'yes', /allowEnrollment must be true or false/],
    ['deviceLimit', '11', /deviceLimit must be a whole number from 1 to 10/],
    ['deviceLimit', '0', /deviceLimit must be a whole number from 1 to 10/],
    ['pinMinLength', '3', /pinMinLength must be a whole number from 4 to 10/],
    ['callsAndTextsPerUserPerHour', '0', /PerUserPerHour must be a whole number from 1 to 100/],
    ['callsAndTextsPerNumberPerHour', '101', /PerNumberPerHour must be a whole number from 1/],
    ['callsAndTextsPerAddressPerHour', '-1', /PerAddressPerHour must be a whole number from 1/],
    ['allowedMethods', 'app,fax', /allowedMethods must be a comma-separated list of phone, sms/],
    ['allowedMethods', '', /allowedMethods must be/],
    ['phoneMode', 'loud', /phoneMode must be one of standard, pin/],
    ['fraudCode', '0#', /fraudCode must be 1 to 4 digits/],
    ['trustedIps', '10.0.0.0/33', /trustedIps must be .*invalid prefix length/],
    ['trustedIps', 'intranet', /trustedIps must be .*not an IPv4 or IPv6 address/],
  ] as const)('refuses %s=%s with a message naming the setting', (key, raw, message) => {
    expect(() => parseSetting(key, raw)).toThrow(message);
    expect(() => parseSetting(key, raw)).toThrow(SettingError);
  });

  it('merges stored values over the defaults and ignores ones of the wrong type', () => {
    const merged = mergeSettings({ deviceLimit: 5, allowEnrollment: 'maybe', retired: true });
    expect(merged.deviceLimit).toBe(5);
    expect(merged.allowEnrollment).toBe(defaultSettings.allowEnrollment);
    expect(merged).not.toHaveProperty('retired');
  });

  it('formats values as they are typed', () => {
    expect(formatSetting(['app', 'sms'])).toBe('app,sms');
    expect(formatSetting(false)).toBe('false');
  });
});

describe('trusted IPs (SPEC J1)', () => {
  const list = parseTrustedIps([
    '192.0.2.10',
    '198.51.100.0/24',
    '203.0.113.5-203.0.113.9',
    '2001:db8::/32',
    'fe80::1',
  ]);

  it.each([
    ['192.0.2.10', true],
    ['192.0.2.11', false],
    ['198.51.100.255', true],
    ['198.51.101.0', false],
    ['203.0.113.5', true],
    ['203.0.113.9', true],
    ['203.0.113.10', false],
    ['::ffff:198.51.100.7', true],
    ['2001:db8:1::42', true],
    ['2001:db9::1', false],
    ['fe80::1', true],
    ['not an address', false],
  ])('%s trusted: %s', (address, trusted) => {
    expect(isTrustedIp(list, address)).toBe(trusted);
  });

  it('trusts nobody without an address', () => {
    expect(isTrustedIp(list, undefined)).toBe(false);
  });

  it.each(['300.1.1.1', '10.0.0.0/40', '10.0.0.9-10.0.0.1', '10.0.0.1-2001:db8::1', 'intranet'])(
    'refuses %s',
    (entry) => {
      expect(() => parseTrustedIps([entry])).toThrow(TrustedIpError);
    },
  );
});
