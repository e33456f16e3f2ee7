import { dateFormat } from '../../core/dates.ts';
import { Router, type Response } from 'express';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { tokenChoices, tokenFields, type TokenForm } from '../token-form.ts';
import { isLastWayToSignIn } from './devices.ts';
import { signedInAccount, requireChangeAllowed, requireRecentProof } from './permissions.ts';
import { contextOf } from '../context.ts';
import { renderLocked } from '../locked.ts';

/** SPEC J3, M4: associate one third-party OATH token, or remove it; bring an HOTP one in step. */
export function tokenRoutes(services: Services): Router {
  const { mfa } = services;
  const router = Router();
  router.use(tokenResyncRoutes(services));
  router.use(
    '/account/token',
    requireChangeAllowed(services, 'token'),
    requireRecentProof(services),
  );

  const tokenOf = (res: Response) => signedInAccount(res).devices.find((d) => d.kind === 'token');

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
      formatDate: dateFormat(res.locals.lng, 'date', services.config.TIME_ZONE),
    });
  }

  router.get('/account/token', (_req, res) => {
    renderToken(res, 200);
  });

  router.post('/account/token', async (req, res) => {
    const form = readForm(req.body, tokenFields);
    const added = await mfa.account.associateToken(contextOf(res), {
      userId: signedInAccount(res).id,
      token: form,
    });
    if (added.outcome === 'only-one') {
      renderToken(res, 400, { refusal: 'tokenPage.onlyOne' });
      return;
    }
    if (added.outcome === 'invalid') {
      // A secret or code typed once is never shown again.
      renderToken(res, 400, { values: { ...form, secret: '', code: '' }, errors: added.errors });
      return;
    }
    res.redirect(303, res.locals.url('/account?done=tokenAdded'));
  });

  function renderImported(
    res: Response,
    status: number,
    options: { values?: { serial?: string }; errors?: FieldError[] } = {},
  ) {
    res.status(status).render('pages/account/token-imported', {
      action: '/account/token/imported',
      back: { href: '/account/token', text: 'tokenPage.back' },
      values: options.values ?? {},
      errors: options.errors ?? [],
    });
  }

  router.get('/account/token/imported', (_req, res) => {
    if (tokenOf(res)) {
      res.redirect(res.locals.url('/account/token'));
      return;
    }
    renderImported(res, 200);
  });

  router.post('/account/token/imported', async (req, res) => {
    const form = readForm(req.body, ['serial', 'code'] as const);
    const added = await mfa.account.associateImportedToken(contextOf(res), {
      userId: signedInAccount(res).id,
      ...form,
    });
    if (added.outcome === 'only-one') {
      renderToken(res, 400, { refusal: 'tokenPage.onlyOne' });
      return;
    }
    if (added.outcome === 'locked') {
      renderLocked(res, added.until);
      return;
    }
    if (added.outcome === 'invalid') {
      renderImported(res, 400, { values: { serial: form.serial }, errors: added.errors });
      return;
    }
    res.redirect(303, res.locals.url('/account?done=tokenAdded'));
  });

  router.get('/account/token/remove', (_req, res) => {
    const token = tokenOf(res);
    if (!token) {
      res.redirect(res.locals.url('/account/token'));
      return;
    }
    res.render('pages/account/token-remove', {
      token,
      lastMethod: isLastWayToSignIn(res, token),
      refused: false,
    });
  });

  router.post('/account/token/remove', async (req, res) => {
    readForm(req.body, []);
    const token = tokenOf(res);
    if (!token) {
      res.redirect(303, res.locals.url('/account/token'));
      return;
    }
    const removed = await mfa.account.removeDevice(contextOf(res), {
      userId: signedInAccount(res).id,
      deviceId: token.id,
    });
    if (removed.outcome === 'last-method') {
      res.status(400).render('pages/account/token-remove', {
        token,
        lastMethod: true,
        refused: true,
      });
      return;
    }
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
function tokenResyncRoutes({ mfa }: Services): Router {
  const router = Router();

  const hotpTokenOf = (res: Response) =>
    signedInAccount(res).devices.find((d) => d.kind === 'token' && d.otpType === 'hotp');

  router.get('/account/token/resync', (_req, res) => {
    const token = hotpTokenOf(res);
    if (!token) {
      res.redirect(res.locals.url('/account'));
      return;
    }
    res.render('pages/account/token-resync', { token, errors: [] });
  });

  router.post('/account/token/resync', async (req, res) => {
    const form = readForm(req.body, ['code1', 'code2'] as const);
    const token = hotpTokenOf(res);
    if (!token) {
      res.redirect(303, res.locals.url('/account'));
      return;
    }
    const outcome = await mfa.account.resyncToken(contextOf(res), {
      userId: signedInAccount(res).id,
      ...form,
    });
    if (outcome.outcome === 'locked') {
      renderLocked(res, outcome.until);
      return;
    }
    if (outcome.outcome === 'invalid') {
      res.status(400).render('pages/account/token-resync', { token, errors: outcome.errors });
      return;
    }
    res.redirect(303, res.locals.url('/account?done=tokenResynced'));
  });

  return router;
}
