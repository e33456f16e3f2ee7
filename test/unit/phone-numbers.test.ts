import { describe, expect, it } from 'vitest';
import { parsePhone, readNumber } from '../../src/core/phone-numbers.ts';

describe('phone numbers the portal calls and texts (SPEC M1, M2, S5)', () => {
  it('brings national and international numbers of the listed countries to E.164', () => {
    expect(parsePhone('020 123 4567', 'NL')).toEqual({ phone: '+31201234567' });
    expect(parsePhone('+32 470 12 34 56', 'NL')).toEqual({ phone: '+32470123456' });
    expect(parsePhone('06 1234', 'NL')).toEqual({ refused: 'invalid' });
  });

  it('refuses premium-rate numbers and countries outside the list (toll fraud)', () => {
    for (const [number, country] of [
      ['+44 909 879 0000', 'NL'],
      ['0900 1234567', 'NL'],
      ['+1 900 555 0100', 'US'],
      ['+252 61 1234567', 'NL'],
      ['+7 912 345 67 89', 'GB'],
    ] as const) {
      expect(parsePhone(number, country), number).toEqual({ refused: 'not-allowed' });
    }
    expect(
      readNumber({ country: 'GB', number: '+252 61 1234567' }, 'phone', { required: true }),
    ).toEqual({
      phone: null,
      extension: null,
      errors: [{ field: 'phoneNumber', message: 'phone.errors.notAllowed' }],
    });
  });
});
