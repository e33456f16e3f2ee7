import { Router, type Request, type Response } from 'express';
import type { i18n } from 'i18next';
import { handle } from 'i18next-http-middleware';
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

/** The request's language, for answers given before the i18n middleware ran (early errors). */
export function detectLanguage(i18next: i18n, req: Request, res: Response): Language {
  const detector = i18next.services.languageDetector as
    { detect(req: Request, res: Response): unknown } | undefined;
  return supported(detector?.detect(req, res));
}

/**
 * SPEC J5: language from ?lng=, then the cookie, then Accept-Language. Views get `t`, `lng`
 * and the language switch's links.
 */
export function setUpI18n(i18next: i18n, basePath: string): Router {
  const router = Router();
  router.use(handle(i18next));
  router.use((req, res, next) => {
    const detected = (req.language || 'en').slice(0, 2).toLowerCase();
    setViewDefaults(
      res,
      i18next,
      basePath,
      languages.find((l) => l === detected) ?? 'en',
      req.path,
    );
    next();
  });
  return router;
}
