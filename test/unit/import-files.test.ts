import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hotp } from '../../src/core/otp.ts';
import { readTokenFile } from '../../src/core/token-import.ts';
import { importedPhone, readUserFile } from '../../src/core/user-import.ts';

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '../fixtures/import', name), 'utf8');

describe('users from CSV (SPEC A2 import)', () => {
  it("reads MFA Server's export: names, email, group, language, phones with country codes and extensions", () => {
    const file = readUserFile(fixture('mfa-server-users.csv'));
    expect(file.format).toBe('mfa-server');
    expect(file.lines.slice(0, 4)).toEqual([
      {
        line: 2,
        username: 'contoso\\jsmith',
        fields: {
          displayName: 'John Smith',
          email: 'jsmith@contoso.com',
          group: 'Sales',
          language: 'en',
          phone: '+14255550100',
          backupPhone: '+14255550199',
          backupExtension: '123',
        },
      },
      {
        line: 3,
        username: 'contoso\\adevries',
        fields: {
          displayName: 'Anne de Vries',
          email: 'anne@contoso.com',
          group: 'Helpdesk',
          language: 'nl',
          phone: '+31612345678',
        },
      },
      {
        line: 4,
        username: 'contoso\\mdupont',
        fields: {
          displayName: 'Marie Dupont, née Martin',
          email: 'marie@contoso.com',
          group: 'Sales',
          language: 'fr',
          phone: '+33123456789',
          phoneExtension: '12,,4',
        },
      },
      // A line with only a username sets nothing on a user who exists.
      { line: 5, username: 'contoso\\noname', fields: {} },
    ]);
  });

  it('refuses a line, with the reason, for a number the portal does not call or cannot place', () => {
    const { lines } = readUserFile(fixture('mfa-server-users.csv'));
    expect(lines.slice(4).map((l) => [l.line, l.problem])).toEqual([
      [6, '0909 1234567: a number in a country, or of a kind, the portal does not call'],
      [7, '0201234567: no country code'],
    ]);
  });

  it('reads a semicolon CSV from a localised Excel, with E.164 numbers in one cell', () => {
    const file = readUserFile(fixture('users-semicolon.csv'));
    expect(file.format).toBe('csv');
    expect(file.lines).toEqual([
      {
        line: 2,
        username: 'els',
        fields: {
          displayName: 'Els de Vries',
          email: 'els@example.org',
          group: 'Finance',
          phone: '+31201234567',
          mobilePhone: '+31612345679',
        },
      },
      {
        line: 3,
        username: 'bart',
        fields: {
          displayName: 'Bart Janssens; jr.',
          email: 'bart@example.be',
          mobilePhone: '+32470123456',
        },
      },
    ]);
  });

  it('refuses repeated usernames, bad email addresses, backup phones alone and no username column', () => {
    const text =
      'Username,Email,Backup Phone,Extension\nann,not-an-address,,\nANN,,,\nbob,,+31201234567,\ncy,,,55\n';
    expect(readUserFile(text).lines.map((l) => l.problem)).toEqual([
      'not-an-address: not an email address',
      'username repeated in the file',
      'a backup phone without a primary phone',
      'extension 55 without a phone number',
    ]);
    expect(readUserFile('name,email\nx,y\n').lines).toEqual([
      { line: 1, username: '', problem: 'the header names no username column' },
    ]);
  });

  it('drops the trunk zero after a country code, and takes 00 for +', () => {
    expect(importedPhone('+31', '020 123 4567')).toEqual({ phone: '+31201234567' });
    expect(importedPhone('', '0031 20 123 4567')).toEqual({ phone: '+31201234567' });
    expect(importedPhone('32', '')).toBeUndefined();
  });
});

describe('OATH token seed files (SPEC M4)', () => {
  it("reads a vendor's CSV: serial number, Base32 secret key, time interval", () => {
    const { format, lines } = readTokenFile(fixture('seeds-vendor.csv'));
    expect(format).toBe('csv');
    expect(lines.map((l) => [l.line, l.serial, l.token?.params, l.token?.counter])).toEqual([
      [2, '10001001', { otpType: 'totp', digits: 6, period: 60, algorithm: 'SHA1' }, null],
      [3, '10001002', { otpType: 'totp', digits: 6, period: 60, algorithm: 'SHA1' }, null],
    ]);
    // As Python's base64.b32decode reads the same text.
    expect(lines[0]?.token?.secret.toString('hex')).toBe(
      'd6f9df7c0110c8531d0952d8d73e1194e95b5f19',
    );
  });

  it('reads hexadecimal secrets, HOTP counters, 8 digits and SHA256, and refuses what no token can be', () => {
    const text = [
      'Serial,Seed (hex),Type,Digits,Counter,Algorithm,Period',
      'HX-1,3132333435363738393031323334353637383930,HOTP,8,5,SHA1,',
      'hx-2,0x3132333435363738393031323334353637383930,TOTP,6,,HMAC-SHA256,30',
      'HX-3,31323334,TOTP,6,,SHA1,30',
      'HX-4,3132333435363738393031323334353637383930,TOTP,7,,SHA1,30',
      'HX-5,3132333435363738393031323334353637383930,TOTP,6,,MD5,30',
      'HX-6,3132333435363738393031323334353637383930,TOTP,6,,SHA1,45',
      'HX 7,3132333435363738393031323334353637383930,TOTP,6,,SHA1,30',
      'hx-1,3132333435363738393031323334353637383930,HOTP,6,0,SHA1,',
      'HX-9,zz,TOTP,6,,SHA1,30',
    ].join('\n');
    const { lines } = readTokenFile(text);
    expect(lines[0]?.token).toEqual({
      serial: 'HX-1',
      secret: Buffer.from('12345678901234567890'),
      params: { otpType: 'hotp', digits: 8, period: 30, algorithm: 'SHA1' },
      counter: 5,
    });
    expect(lines[1]?.token).toMatchObject({ serial: 'HX-2', params: { algorithm: 'SHA256' } });
    expect(lines.slice(2).map((l) => l.problem)).toEqual([
      'the secret has 32 bits; 128 to 512 are accepted',
      'codes of 6 or 8 digits only',
      'an algorithm other than SHA1, SHA256 or SHA512',
      'a time step other than 30 or 60 seconds',
      'the serial number has characters other than letters, digits, . - _',
      'serial number repeated in the file',
      'no secret, or one that is neither Base32 nor hexadecimal',
    ]);
    // RFC 4226 Appendix D: the secret above gives these codes.
    expect(hotp(Buffer.from('12345678901234567890'), 5, { algorithm: 'SHA1', digits: 6 })).toBe(
      '254676',
    );
  });

  it('reads a time-based PSKC key: its time step and the HMAC its suite names', () => {
    const secret = Buffer.from('12345678901234567890123456789012').toString('base64');
    const xml = `<?xml version="1.0"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><SerialNo>tt-60</SerialNo></DeviceInfo>
    <Key Id="k1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
      <AlgorithmParameters>
        <Suite>HMAC-SHA256</Suite>
        <ResponseFormat Length="8" Encoding="DECIMAL"/>
      </AlgorithmParameters>
      <Data>
        <Secret><PlainValue>${secret}</PlainValue></Secret>
        <TimeInterval><PlainValue>60</PlainValue></TimeInterval>
      </Data>
    </Key>
  </KeyPackage>
</KeyContainer>`;
    expect(readTokenFile(xml).lines).toEqual([
      {
        line: 1,
        serial: 'TT-60',
        token: {
          serial: 'TT-60',
          secret: Buffer.from('12345678901234567890123456789012'),
          params: { otpType: 'totp', digits: 8, period: 60, algorithm: 'SHA256' },
          counter: null,
        },
      },
    ]);
  });

  it('reads PSKC, setting aside the short secret of Figure 2 and the repeated serial of Figure 10', () => {
    expect(readTokenFile(fixture('rfc6030-figure2.pskc.xml')).lines).toEqual([
      { line: 1, serial: '12345678', problem: 'the secret has 32 bits; 128 to 512 are accepted' },
    ]);
    const bulk = readTokenFile(fixture('rfc6030-figure10.pskc.xml'));
    expect(bulk.format).toBe('pskc');
    expect(bulk.lines.map((l) => [l.serial, l.problem ?? 'ok'])).toEqual([
      ['654321', 'ok'],
      ['123456', 'ok'],
      ['9999999', 'ok'],
      ['9999999', 'serial number repeated in the file'],
    ]);
    expect(
      readTokenFile(fixture('rfc6030-figure7.pskc.xml'), { password: 'qwerty' }).lines[0]?.token,
    ).toEqual({
      serial: '987654321',
      secret: Buffer.from('12345678901234567890'),
      params: { otpType: 'hotp', digits: 8, period: 30, algorithm: 'SHA1' },
      counter: 0,
    });
  });
});
