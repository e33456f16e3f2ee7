import { Router, type Response } from 'express';
import createError from 'http-errors';
import { isLanguage, languages } from '../../i18n.ts';
import { rememberLanguage } from '../../middleware/i18n.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { signedInAccount, requireChangeAllowed } from './permissions.ts';
import { contextOf } from '../context.ts';

/**
 * A page of the portal to go back to, as the language notice sends it: one path (the characters
 * of RFC 3986 paths, no query) that does not begin as a browser would read another site, `//host`;
 * a backslash, which browsers read as a slash, is not a path character.
 */
const localPath = /^\/(?!\/)[\w\-.~%!$&'()*+,;=:@/]*$/;

/**
 * SPEC J5: the language saved on the account. It applies on every browser that has not chosen
 * one with the switch, and their calls, texts and emails use it. A preference, not a factor: no
 * new proof is needed. Saved from the language page, or from the notice the layout shows after
 * a switch, which then goes back to the page it was on.
 */
export function languageRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/language', requireChangeAllowed(services, 'language'));

  function renderLanguage(res: Response, status: number, errors: FieldError[]) {
    const saved = signedInAccount(res).language;
    res.status(status).render('pages/account/language', {
      languages,
      chosen: isLanguage(saved) ? saved : res.locals.lng,
      errors,
    });
  }

  router.get('/account/language', (_req, res) => {
    renderLanguage(res, 200, []);
  });

  router.post('/account/language', async (req, res) => {
    const form = readForm(req.body, ['language', 'returnTo'] as const);
    if (form.returnTo !== '' && !localPath.test(form.returnTo)) {
      throw createError(400, 'returnTo must be a path of the portal');
    }
    const language = form.language;
    const saved = await services.mfa.account.setLanguage(contextOf(res), {
      userId: signedInAccount(res).id,
      language,
    });
    if (saved.outcome === 'invalid') {
      renderLanguage(res, 400, saved.errors);
      return;
    }
    // The browser keeps it too, so the sign-in page after signing out speaks it as well.
    if (isLanguage(language)) rememberLanguage(services.i18n, req, res, language);
    res.redirect(303, res.locals.url(form.returnTo || '/account?done=language'));
  });

  return router;
}
