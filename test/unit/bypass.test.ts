import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../../src/core/settings.ts';
import { minBypassSeconds, plainBypassSeconds, readBypassSeconds } from '../../src/core/bypass.ts';

describe('the seconds of a bypass a user starts (SPEC M7)', () => {
  it('accepts whole numbers from 60 to the maximum, both ends included', () => {
    expect(readBypassSeconds('60', 3600)).toBe(60);
    expect(readBypassSeconds('3600', 3600)).toBe(3600);
    expect(readBypassSeconds(' 0300 ', 3600)).toBe(300);
  });

  it('names what is wrong with anything else', () => {
    const message = (typed: string, max = 3600) => {
      const read = readBypassSeconds(typed, max);
      return typeof read === 'number' ? read : read.message;
    };
    expect(message('')).toBe('bypassPage.errors.required');
    for (const typed of ['5 min', '1e3', '+300', '300.0', '٣٠٠', '0x12c']) {
      expect(message(typed), typed).toBe('bypassPage.errors.wholeNumber');
    }
    for (const typed of ['59', '3601', '9'.repeat(400)]) {
      expect(message(typed), typed).toBe('bypassPage.errors.range');
    }
    expect(readBypassSeconds('120', 90)).toEqual({
      field: 'seconds',
      message: 'bypassPage.errors.range',
      values: { min: minBypassSeconds, max: 90 },
    });
  });

  it('lasts 300 s when the user is not asked, or the maximum when that is shorter', () => {
    expect(plainBypassSeconds(defaultSettings)).toBe(300);
    expect(plainBypassSeconds({ ...defaultSettings, bypassMaxSeconds: 120 })).toBe(120);
    expect(plainBypassSeconds({ ...defaultSettings, bypassMaxSeconds: 86_400 })).toBe(300);
  });
});
