import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import i18next, { type i18n } from 'i18next';
import Backend, { type FsBackendOptions } from 'i18next-fs-backend';
import { LanguageDetector } from 'i18next-http-middleware';
import { languages } from './core/languages.ts';

export { isLanguage, languages, type Language } from './core/languages.ts';

/** The cookie that keeps a language chosen with the switch, for the browser that chose it. */
export const languageCookie = 'lang';

export interface I18nOptions {
  rootDir: string;
  cookiePath: string;
  secureCookie: boolean;
}

/** One i18next instance with en, nl and fr loaded up front; detection: ?lng=, cookie, header. */
export async function createI18n({
  rootDir,
  cookiePath,
  secureCookie,
}: I18nOptions): Promise<i18n> {
  // One file per area (translation.json plus e.g. account-phones.json); keys are looked up in
  // all of them, so views and code never name the file.
  const namespaces = readdirSync(join(rootDir, 'locales', 'en'))
    .filter((file) => file.endsWith('.json'))
    .map((file) => basename(file, '.json'))
    .sort((a, b) => (a === 'translation' ? -1 : b === 'translation' ? 1 : a.localeCompare(b)));
  const instance = i18next.createInstance();
  await instance
    .use(Backend)
    .use(LanguageDetector)
    .init<FsBackendOptions>({
      backend: { loadPath: join(rootDir, 'locales', '{{lng}}', '{{ns}}.json') },
      supportedLngs: [...languages],
      nonExplicitSupportedLngs: true,
      load: 'languageOnly',
      fallbackLng: 'en',
      preload: [...languages],
      ns: namespaces,
      defaultNS: 'translation',
      fallbackNS: namespaces.filter((ns) => ns !== 'translation'),
      initAsync: false,
      returnNull: false,
      interpolation: { escapeValue: false },
      detection: {
        order: ['querystring', 'cookie', 'header'],
        lookupQuerystring: 'lng',
        lookupCookie: languageCookie,
        caches: ['cookie'],
        // No cookieExpirationDate: without one, each choice is kept a year from when it is made.
        cookiePath,
        cookieSecure: secureCookie,
        cookieSameSite: 'lax',
        cookieHttpOnly: true,
        ignoreCase: true,
      },
    });
  return instance;
}
