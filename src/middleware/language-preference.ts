import { Router } from 'express';
import { isLanguage } from '../i18n.ts';
import type { Services } from '../services.ts';
import { applyLanguage, explicitLanguage, rememberLanguage } from './i18n.ts';

/**
 * SPEC J5: a signed-in user's language is saved on their account, when users may choose it, and
 * then wins over the browser's: the same language on every device, and for their calls and texts.
 */
export function setUpLanguagePreference({ users, settings, i18n }: Services): Router {
  const router = Router();
  router.use(async (req, res, next) => {
    const user = res.locals.user;
    if (!user) {
      next();
      return;
    }
    const chosen = explicitLanguage(req);
    if (chosen) {
      if (chosen !== user.language && (await settings.read()).allowSelectLanguage) {
        await users.setLanguage(user.id, chosen);
      }
    } else if (isLanguage(user.language) && user.language !== res.locals.lng) {
      applyLanguage(res, i18n, user.language);
      rememberLanguage(i18n, req, res, user.language);
    }
    next();
  });
  return router;
}
