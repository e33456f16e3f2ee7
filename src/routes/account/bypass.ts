import { dateFormat } from '../../core/dates.ts';
import { Router, type Response } from 'express';
import createError from 'http-errors';
import { minBypassSeconds, plainBypassSeconds } from '../../core/bypass.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { signedInAccount, requireChangeAllowed, requireRecentProof } from './permissions.ts';
import { contextOf } from '../context.ts';

/**
 * SPEC J3, M7: the one-time bypass a user starts for themselves, when the settings allow it.
 * Their next sign-in within its seconds needs only the password, once. Starting one switches the
 * second factor off for a while, so it needs a recent proof and is announced by email;
 * cancelling one only restores the protection, so it needs neither.
 */
export function bypassRoutes(services: Services): Router {
  const { mfa } = services;
  const router = Router();
  router.use('/account/bypass', requireChangeAllowed(services, 'bypass'));

  async function renderBypass(res: Response, status: number, errors: FieldError[], typed = '') {
    const settings = res.locals.portalSettings;
    if (!settings) throw createError(500, 'Settings missing');
    const lng = res.locals.lng;
    const minutes = (seconds: number) =>
      new Intl.NumberFormat(lng, {
        style: 'unit',
        unit: 'minute',
        unitDisplay: 'long',
        maximumFractionDigits: 1,
      }).format(seconds / 60);
    const suggested = plainBypassSeconds(settings);
    const { pending, noticeByEmail } = await mfa.account.bypassStatus(contextOf(res), {
      userId: signedInAccount(res).id,
    });
    res.status(status).render('pages/account/bypass', {
      pending,
      formatTime: dateFormat(lng, 'fullDateTime', services.config.TIME_ZONE),
      promptSeconds: settings.promptBypassSeconds,
      seconds: typed || String(suggested),
      minSeconds: minBypassSeconds,
      maxSeconds: settings.bypassMaxSeconds,
      longest: minutes(settings.bypassMaxSeconds),
      plainLength: minutes(suggested),
      emailed: noticeByEmail,
      errors,
    });
  }

  router.get('/account/bypass', requireRecentProof(services), async (_req, res) => {
    await renderBypass(res, 200, []);
  });

  router.post('/account/bypass', requireRecentProof(services), async (req, res) => {
    // The page has a seconds field only when the user may choose: one posted otherwise was not
    // sent by our page.
    let seconds: string | undefined;
    if (res.locals.portalSettings?.promptBypassSeconds) {
      seconds = readForm(req.body, ['seconds'] as const).seconds;
    } else {
      readForm(req.body, []);
    }
    const issued = await mfa.account.issueBypass(contextOf(res), {
      userId: signedInAccount(res).id,
      ...(seconds === undefined ? {} : { seconds }),
    });
    if (issued.outcome === 'invalid') {
      // A plausible typing slip is shown back to be corrected; an absurd length is not.
      const typed = seconds !== undefined && seconds.length <= 12 ? seconds : '';
      await renderBypass(res, 400, issued.errors, typed);
      return;
    }
    res.redirect(303, res.locals.url('/account?done=bypassIssued'));
  });

  router.post('/account/bypass/cancel', async (req, res) => {
    readForm(req.body, []);
    const cancelled = await mfa.account.cancelBypass(contextOf(res), {
      userId: signedInAccount(res).id,
    });
    res.redirect(
      303,
      res.locals.url(
        cancelled.outcome === 'cancelled' ? '/account?done=bypassCancelled' : '/account/bypass',
      ),
    );
  });

  return router;
}
