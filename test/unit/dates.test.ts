import { describe, expect, it } from 'vitest';
import { dateFormat, knownTimeZone } from '../../src/core/dates.ts';

describe('dates and times in each language (SPEC L1, the language review)', () => {
  const evening = Date.UTC(2026, 11, 1, 20, 34);

  it('writes British, Dutch and French dates, in the configured zone, with the zone shown', () => {
    const shown = (language: string, style: 'date' | 'dateTime' | 'fullDateTime') =>
      dateFormat(language, style, 'Europe/Amsterdam').format(evening);
    expect(shown('en', 'date')).toBe('1 Dec 2026');
    expect(shown('en', 'dateTime')).toBe('1 Dec 2026, 21:34 CET');
    expect(shown('en', 'fullDateTime')).toBe('Tuesday, 1 December 2026 at 21:34 CET');
    expect(shown('nl', 'dateTime')).toBe('1 dec 2026, 21:34 CET');
    expect(shown('nl', 'fullDateTime')).toBe('dinsdag 1 december 2026 om 21:34 CET');
    expect(shown('fr', 'dateTime')).toBe('1 déc. 2026, 21:34 UTC+1');
    expect(shown('fr', 'fullDateTime')).toBe('mardi 1 décembre 2026 à 21:34 UTC+1');
    expect(dateFormat('en', 'dateTime', 'UTC').format(evening)).toBe('1 Dec 2026, 20:34 UTC');
  });

  it('knows IANA zone names and refuses others', () => {
    expect(knownTimeZone('Europe/Brussels')).toBe(true);
    expect(knownTimeZone('Mars/Olympus')).toBe(false);
  });
});
