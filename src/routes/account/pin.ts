import { Router, type Response } from 'express';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { signedInAccount, requireChangeAllowed, requireRecentProof } from './permissions.ts';
import { contextOf } from '../context.ts';

/** SPEC J3, M5: a new PIN, typed twice, checked against the policy and the user's numbers. */
export function pinRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/pin', requireChangeAllowed(services, 'pin'), requireRecentProof(services));

  function renderPin(res: Response, status: number, errors: FieldError[]) {
    const { hasPin } = signedInAccount(res);
    const needed = res.req.query.needed;
    res.status(status).render('pages/account/pin', {
      // Just after adding calls or texts in a PIN mode: the method works only once there is one.
      neededFor: !hasPin && (needed === 'phone' || needed === 'sms') ? needed : '',
      hasPin,
      pinMinLength: res.locals.portalSettings?.pinMinLength,
      errors,
    });
  }

  router.get('/account/pin', (_req, res) => {
    renderPin(res, 200, []);
  });

  router.post('/account/pin', async (req, res) => {
    const form = readForm(req.body, ['pin', 'pinConfirmation'] as const);
    const changed = await services.mfa.account.changePin(contextOf(res), {
      userId: signedInAccount(res).id,
      ...form,
    });
    if (changed.outcome === 'invalid') {
      renderPin(res, 400, changed.errors);
      return;
    }
    res.redirect(303, res.locals.url('/account?done=pin'));
  });

  return router;
}
