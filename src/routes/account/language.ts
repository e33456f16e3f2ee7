import { Router, type Response } from 'express';
import { isLanguage, languages } from '../../i18n.ts';
import { rememberLanguage } from '../../middleware/i18n.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { accountUser, requireChangeAllowed } from './permissions.ts';

/**
 * SPEC J5: the language saved on the account. It wins on every device the user signs in on, and
 * their calls, texts and emails use it too. A preference, not a factor: no new proof is needed.
 */
export function languageRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/language', requireChangeAllowed(services, 'language'));

  function renderLanguage(res: Response, status: number, errors: FieldError[]) {
    const saved = accountUser(res).language;
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
    const form = readForm(req.body, ['language'] as const);
    const user = accountUser(res);
    const language = form.language;
    if (!isLanguage(language)) {
      renderLanguage(res, 400, [
        { field: 'language-0', message: 'preferences.language.errors.choose' },
      ]);
      return;
    }
    await services.users.setLanguage(user.id, language);
    // The browser keeps it too, so the sign-in page after signing out speaks it as well.
    rememberLanguage(services.i18n, req, res, language);
    await services.changes.record(
      user,
      { type: 'change.language' },
      { clientIp: req.ip, language },
    );
    res.redirect(303, res.locals.url('/account?done=language'));
  });

  return router;
}
