import { Router, type Response } from 'express';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { newPinErrors } from '../setup/validation.ts';
import { accountUser, requireChangeAllowed, requireRecentProof } from './permissions.ts';
import { contextOf } from '../context.ts';

/** SPEC J3, M5: a new PIN, typed twice, checked against the policy and the user's numbers. */
export function pinRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/pin', requireChangeAllowed(services, 'pin'), requireRecentProof(services));

  async function renderPin(res: Response, status: number, errors: FieldError[]) {
    const settings = res.locals.portalSettings ?? (await services.settings.read());
    const hasPin = accountUser(res).pin_hash !== null;
    const needed = res.req.query.needed;
    res.status(status).render('pages/account/pin', {
      // Just after adding calls or texts in a PIN mode: the method works only once there is one.
      neededFor: !hasPin && (needed === 'phone' || needed === 'sms') ? needed : '',
      hasPin,
      pinMinLength: settings.pinMinLength,
      errors,
    });
  }

  router.get('/account/pin', async (_req, res) => {
    await renderPin(res, 200, []);
  });

  router.post('/account/pin', async (req, res) => {
    const form = readForm(req.body, ['pin', 'pinConfirmation'] as const);
    const user = accountUser(res);
    const settings = res.locals.portalSettings ?? (await services.settings.read());
    const phones = [user.phone, user.backup_phone, user.mobile_phone].filter((p) => p !== null);
    const errors = newPinErrors(form.pin, form.pinConfirmation, settings.pinMinLength, phones);
    if (errors.length > 0) {
      await renderPin(res, 400, errors);
      return;
    }
    const pinHash = await services.secondFactor.hashPin(form.pin);
    await services.users.setPin(user.id, pinHash);
    await services.changes.record(
      user,
      { type: 'change.pin', notice: 'factorChanged', what: 'pin' },
      contextOf(res),
    );
    res.redirect(303, res.locals.url('/account?done=pin'));
  });

  return router;
}
