import { Router, type Response } from 'express';
import createError from 'http-errors';
import { defaultMethodChoices, noChannels } from '../../core/method-policy.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { signedInAccount, requireChangeAllowed } from './permissions.ts';
import { contextOf } from '../context.ts';

/**
 * SPEC J3: the method the second step starts with. A preference, not a factor: every choice is a
 * method the user has already proven, so no new proof is asked for.
 */
export function methodRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/method', requireChangeAllowed(services, 'method'));

  function renderMethod(res: Response, status: number, errors: FieldError[]) {
    const user = signedInAccount(res);
    const { portalSettings, telephony } = res.locals;
    if (!portalSettings) throw createError(500, 'Settings missing');
    const choices = defaultMethodChoices(user, portalSettings, telephony ?? noChannels);
    res.status(status).render('pages/account/method', {
      choices,
      chosen: choices.find((m) => m === user.defaultMethod) ?? '',
      errors,
    });
  }

  router.get('/account/method', (_req, res) => {
    renderMethod(res, 200, []);
  });

  router.post('/account/method', async (req, res) => {
    const form = readForm(req.body, ['method'] as const);
    const saved = await services.mfa.account.setDefaultMethod(contextOf(res), {
      userId: signedInAccount(res).id,
      method: form.method,
    });
    if (saved.outcome === 'invalid') {
      renderMethod(res, 400, saved.errors);
      return;
    }
    res.redirect(303, res.locals.url('/account?done=method'));
  });

  return router;
}
