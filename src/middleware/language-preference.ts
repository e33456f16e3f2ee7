import type { RequestHandler } from 'express';
import { isLanguage } from '../i18n.ts';
import type { Services } from '../services.ts';
import { applyLanguage, browserLanguage, explicitLanguage } from './i18n.ts';

/**
 * SPEC J5, S11: the language switch changes the page and the browser's cookie, never what is
 * saved: a GET must not change saved data, and a link on another site could otherwise set a
 * user's calls, texts and emails to a language they do not read. The language saved on the
 * account applies where this browser made no choice of its own. When a signed-in user switches
 * to another language than the saved one, and users may choose theirs, the page offers to save
 * it too (a form: `languageOffer`, shown by the layout).
 */
export function setUpLanguagePreference({ i18n }: Services): RequestHandler {
  return (req, res, next) => {
    const user = res.locals.user;
    if (!user) {
      next();
      return;
    }
    const chosen = explicitLanguage(req);
    if (chosen) {
      if (chosen !== user.language && res.locals.portalSettings?.allowSelectLanguage) {
        res.locals.languageOffer = chosen;
      }
    } else if (
      !browserLanguage(req) &&
      isLanguage(user.language) &&
      user.language !== res.locals.lng
    ) {
      applyLanguage(res, i18n, user.language);
    }
    next();
  };
}
