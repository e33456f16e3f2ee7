/** The languages of the portal, and so of calls, texts and emails (SPEC J5, L1). */
export const languages = ['en', 'nl', 'fr'] as const;
export type Language = (typeof languages)[number];

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (languages as readonly string[]).includes(value);
}
