import { dateFormat } from '../../i18n.ts';
import { Router, type Response } from 'express';
import { newDeviceRow } from '../../core/devices.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { checkToken, tokenChoices, tokenFields, type TokenForm } from '../token-form.ts';
import { changeContext, methodsWithout, removeFactorDevice } from './devices.ts';
import { codeError, readCode } from '../setup/validation.ts';
import { accountUser, requireChangeAllowed, requireRecentProof } from './permissions.ts';
import { contextOf } from '../context.ts';

/** SPEC J3, M4: associate one third-party OATH token, or remove it; bring an HOTP one in step. */
export function tokenRoutes(services: Services): Router {
  const router = Router();
  router.use(tokenResyncRoutes(services));
  router.use(
    '/account/token',
    requireChangeAllowed(services, 'token'),
    requireRecentProof(services),
  );

  const tokenOf = (res: Response) =>
    changeContext(res).enrolment.devices.find((d) => d.kind === 'token');

  function renderToken(
    res: Response,
    status: number,
    options: { values?: Partial<TokenForm>; errors?: FieldError[]; refusal?: string } = {},
  ) {
    res.status(status).render('pages/account/token', {
      token: tokenOf(res),
      values: options.values ?? {},
      choices: tokenChoices,
      errors: options.errors ?? [],
      refusal: options.refusal ?? '',
      formatDate: dateFormat(res.locals.lng, 'date'),
    });
  }

  router.get('/account/token', (_req, res) => {
    renderToken(res, 200);
  });

  router.post('/account/token', async (req, res) => {
    const form = readForm(req.body, tokenFields);
    const { user } = changeContext(res);
    if (tokenOf(res)) {
      renderToken(res, 400, { refusal: 'tokenPage.onlyOne' });
      return;
    }
    const { errors, token } = checkToken(form);
    // A secret or code typed once is never shown again.
    const values = { ...form, secret: '', code: '' };
    if (!token) {
      renderToken(res, 400, { values, errors });
      return;
    }
    const row = newDeviceRow({
      userId: user.id,
      kind: 'token',
      name: token.serial,
      serial: token.serial,
      secret: token.secret,
      params: token.params,
      counter: token.proof.counter,
      lastStep: token.proof.lastStep,
      key: services.encryptionKey,
      now: Date.now(),
    });
    if (!(await services.devices.addWithinLimit(row, 1))) {
      renderToken(res, 400, { refusal: 'tokenPage.onlyOne' });
      return;
    }
    await services.changes.record(
      user,
      {
        type: 'token.added',
        method: 'token',
        device: token.serial,
        notice: 'factorAdded',
        what: 'token',
      },
      contextOf(res),
    );
    res.redirect(303, res.locals.url('/account?done=tokenAdded'));
  });

  router.get('/account/token/remove', (_req, res) => {
    const token = tokenOf(res);
    if (!token) {
      res.redirect(res.locals.url('/account/token'));
      return;
    }
    const lastMethod = methodsWithout(res, services, token).length === 0;
    res.render('pages/account/token-remove', { token, lastMethod, refused: false });
  });

  router.post('/account/token/remove', async (req, res) => {
    readForm(req.body, []);
    const token = tokenOf(res);
    if (!token) {
      res.redirect(303, res.locals.url('/account/token'));
      return;
    }
    const remaining = methodsWithout(res, services, token);
    if (remaining.length === 0) {
      res.status(400).render('pages/account/token-remove', {
        token,
        lastMethod: true,
        refused: true,
      });
      return;
    }
    await removeFactorDevice(services, res, token, remaining);
    res.redirect(303, res.locals.url('/account?done=tokenRemoved'));
  });

  return router;
}

/**
 * SPEC M4: two consecutive codes bring an HOTP token back in step. This needs no fresh proof and
 * no permission to change the token: the two codes are the proof, it changes no factor, and a
 * user whose token fell out of step may have signed in with a helpdesk bypass and have no other
 * factor to prove with. Wrong codes count towards the lockout (M8).
 */
function tokenResyncRoutes(services: Services): Router {
  const router = Router();

  async function hotpTokenOf(res: Response) {
    const devices = await services.devices.forUser(accountUser(res).id);
    return devices.find((d) => d.kind === 'token' && d.otp_type === 'hotp');
  }

  router.get('/account/token/resync', async (_req, res) => {
    const token = await hotpTokenOf(res);
    if (!token) {
      res.redirect(res.locals.url('/account'));
      return;
    }
    res.render('pages/account/token-resync', { token, errors: [] });
  });

  router.post('/account/token/resync', async (req, res) => {
    const form = readForm(req.body, ['code1', 'code2'] as const);
    const token = await hotpTokenOf(res);
    if (!token) {
      res.redirect(303, res.locals.url('/account'));
      return;
    }
    const digits = [token.digits];
    const errors: FieldError[] = [
      ...(form.code1.trim() === ''
        ? [{ field: 'code1', message: 'tokenPage.resync.errors.firstMissing' }]
        : codeError('code1', form.code1, digits)),
      ...(form.code2.trim() === ''
        ? [{ field: 'code2', message: 'tokenPage.resync.errors.secondMissing' }]
        : codeError('code2', form.code2, digits)),
    ];
    const first = readCode(form.code1, digits);
    const second = readCode(form.code2, digits);
    if (errors.length > 0 || !first || !second) {
      res.status(400).render('pages/account/token-resync', { token, errors });
      return;
    }
    const outcome = await services.secondFactor.resyncToken(
      accountUser(res),
      [first, second],
      contextOf(res),
    );
    if (outcome.outcome === 'locked') {
      res.status(403).render('pages/verify/locked', {
        minutes: Math.max(1, Math.ceil((outcome.until - Date.now()) / 60_000)),
      });
      return;
    }
    if (outcome.outcome === 'invalid') {
      res.status(400).render('pages/account/token-resync', {
        token,
        errors: [{ field: 'code1', message: 'tokenPage.resync.errors.wrong' }],
      });
      return;
    }
    res.redirect(303, res.locals.url('/account?done=tokenResynced'));
  });

  return router;
}
