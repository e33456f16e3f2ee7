import type { Request, RequestHandler, Response } from 'express';
import type { i18n, TFunction } from 'i18next';
import { isLanguage, languageCookie, languages, type Language } from '../i18n.ts';

const translators = new WeakMap<i18n, Map<Language, TFunction>>();

/** How many filled-in texts each language keeps: bounded, as the values come from requests. */
const filledTextsKept = 5000;

/** The options of a text as a key, when they are strings, numbers and booleans only. */
function plainValues(options: unknown): string | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  const parts: string[] = [];
  for (const [name, value] of Object.entries(options)) {
    const kind = typeof value;
    if (kind !== 'string' && kind !== 'number' && kind !== 'boolean') return undefined;
    parts.push(`${name}\u0000${kind}\u0000${String(value)}`);
  }
  return parts.join('\u0001');
}

/**
 * A `t` per language, made once: a page calls it a dozen times, and a text without options
 * (most of them) is looked up once per process instead of on every page.
 */
function translatorFor(i18next: i18n, lng: Language): TFunction {
  let perLanguage = translators.get(i18next);
  if (!perLanguage) {
    perLanguage = new Map();
    translators.set(i18next, perLanguage);
  }
  let t = perLanguage.get(lng);
  if (!t) {
    // i18next's own typing follows each key's text; here keys come from views, as strings.
    const fixed = i18next.getFixedT(lng) as unknown as (key: string, options?: object) => string;
    const plain = new Map<string, string>();
    const filled = new Map<string, string>();
    t = ((key: string, options?: unknown) => {
      if (options !== undefined) {
        // The same values give the same text (SPEC P2): a page fills in the same few again and
        // again. Values that are not plain data are not kept; nor is anything past the bound.
        const values = plainValues(options);
        if (values === undefined) return fixed(key, options as object);
        const id = `${key}\u0000${values}`;
        let text = filled.get(id);
        if (text === undefined) {
          text = fixed(key, options as object);
          if (filled.size >= filledTextsKept) filled.clear();
          filled.set(id, text);
        }
        return text;
      }
      let text = plain.get(key);
      if (text === undefined) {
        text = fixed(key);
        plain.set(key, text);
      }
      return text;
    }) as TFunction;
    perLanguage.set(lng, t);
  }
  return t;
}

/** Sets the language of the page being answered. */
export function applyLanguage(res: Response, i18next: i18n, lng: Language): void {
  res.locals.lng = lng;
  res.locals.t = translatorFor(i18next, lng);
  res.setHeader('Content-Language', lng);
}

/**
 * A path taken from the request, fit to link to: `//host/x` and `/\host/x` (browsers read a
 * backslash as a slash) would lead to another site, so leading slashes, backslashes and spaces
 * become one slash.
 */
export function sameSitePath(path: string): string {
  return `/${path.replace(/^[\s/\\]+/, '')}`;
}

/** What every view needs, whatever the request reached before it was answered. */
export function setViewDefaults(
  res: Response,
  i18next: i18n,
  basePath: string,
  lng: Language,
  path: string,
): void {
  applyLanguage(res, i18next, lng);
  res.locals.basePath = basePath;
  res.locals.currentPath = basePath + sameSitePath(path);
  res.locals.url = (target: string) => basePath + target;
  res.locals.journeyStage = 'anonymous';
  res.locals.signedIn = false;
  res.locals.isAdmin = false;
  res.locals.csrfToken = '';
}

function supported(detected: unknown): Language {
  const code = typeof detected === 'string' ? detected.slice(0, 2).toLowerCase() : 'en';
  return languages.find((l) => l === code) ?? 'en';
}

interface Detector {
  detect(req: Request, res: Response): unknown;
  cacheUserLanguage(req: Request, res: Response, lng: string): void;
}

function detectorOf(i18next: i18n): Detector | undefined {
  return i18next.services.languageDetector as Detector | undefined;
}

/** The language the user picked with the switch on this request, if any. */
export function explicitLanguage(req: Request): Language | undefined {
  return req.query.lng !== undefined && supported(req.query.lng) === req.query.lng
    ? supported(req.query.lng)
    : undefined;
}

const languageCookiePattern = new RegExp(`(?:^|;\\s*)${languageCookie}=([^;]*)`);

/** The language this browser chose with the switch: now with ?lng=, or before (its cookie). */
export function browserLanguage(req: Request): Language | undefined {
  const kept = languageCookiePattern.exec(req.headers.cookie ?? '')?.[1];
  return explicitLanguage(req) ?? (isLanguage(kept) ? kept : undefined);
}

/** Keeps a language for the next requests of this browser (the `lang` cookie). */
export function rememberLanguage(i18next: i18n, req: Request, res: Response, lng: Language): void {
  detectorOf(i18next)?.cacheUserLanguage(req, res, lng);
}

/** The request's language: ?lng=, then the cookie, then Accept-Language (SPEC J5). */
export function detectLanguage(i18next: i18n, req: Request, res: Response): Language {
  return supported(detectorOf(i18next)?.detect(req, res));
}

/**
 * SPEC J5: the language of every page, and a cookie when the user picks one with ?lng=. Views get
 * `t`, `lng` and the language switch's links. The detector of i18next-http-middleware is used on
 * its own: its `handle` clones the whole i18next instance per request, which cost more than the
 * page itself, while a fixed `t` per language is all a server-rendered page needs.
 */
export function setUpI18n(i18next: i18n, basePath: string): RequestHandler {
  return (req, res, next) => {
    const lng = detectLanguage(i18next, req, res);
    if (explicitLanguage(req)) rememberLanguage(i18next, req, res, lng);
    setViewDefaults(res, i18next, basePath, lng, req.path);
    next();
  };
}
