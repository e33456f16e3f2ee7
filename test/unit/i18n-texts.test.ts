import { resolve } from 'node:path';
import type { Response } from 'express';
import { describe, expect, it } from 'vitest';
import { createI18n } from '../../src/i18n.ts';
import { applyLanguage } from '../../src/middleware/i18n.ts';

const rootDir = resolve(import.meta.dirname, '../..');

/** The `t` a page in `lng` gets. */
async function translator(lng: 'en' | 'nl') {
  const i18next = await createI18n({ rootDir, cookiePath: '/', secureCookie: false });
  const res = { locals: {}, setHeader: () => undefined } as unknown as Response;
  applyLanguage(res, i18next, lng);
  return res.locals.t as unknown as (key: string, options?: object) => string;
}

describe('texts with values, kept by their values (SPEC P2)', () => {
  it('gives each set of values its own text, the same one again for the same values', async () => {
    const t = await translator('en');
    expect(t('account.welcome', { name: 'Anna' })).toBe('Welcome, Anna.');
    expect(t('account.welcome', { name: 'Bert' })).toBe('Welcome, Bert.');
    expect(t('account.welcome', { name: 'Anna' })).toBe('Welcome, Anna.');
    // A number and the string of its digits are different values (plurals follow numbers).
    expect(t('common.sessionNotice', { count: 1 })).not.toBe(
      t('common.sessionNotice', { count: 20 }),
    );
  });

  it('fills in values that are not plain data as i18next does, every time', async () => {
    const t = await translator('nl');
    const name = { toString: () => 'Anna' };
    expect(t('account.welcome', { name })).toBe(t('account.welcome', { name: 'Anna' }));
  });
});
