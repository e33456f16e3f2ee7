import { Router, type Request, type Response } from 'express';
import type { i18n } from 'i18next';
import { languages, type Language } from '../i18n.ts';

/** What every view needs, whatever the request reached before it was answered. */
export function setViewDefaults(
  res: Response,
  i18next: i18n,
  basePath: string,
  lng: Language,
  path: string,
): void {
  res.locals.lng = lng;
  res.locals.t = i18next.getFixedT(lng);
  res.locals.basePath = basePath;
  res.locals.currentPath = basePath + path;
  res.locals.url = (target: string) => basePath + target;
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
export function setUpI18n(i18next: i18n, basePath: string): Router {
  const router = Router();
  router.use((req, res, next) => {
    const lng = detectLanguage(i18next, req, res);
    if (req.query.lng !== undefined && supported(req.query.lng) === req.query.lng) {
      detectorOf(i18next)?.cacheUserLanguage(req, res, lng);
    }
    res.setHeader('Content-Language', lng);
    setViewDefaults(res, i18next, basePath, lng, req.path);
    next();
  });
  return router;
}
