import { dateFormat } from '../../i18n.ts';
import { Router, type Request, type Response } from 'express';
import { defaultBypassSeconds } from '../../core/bypass.ts';
import type { PortalSettings } from '../../core/settings.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { accountUser, requireChangeAllowed, requireRecentProof } from './permissions.ts';
import { contextOf } from '../context.ts';

/** The shortest bypass a user may ask for: long enough to sign out and in again. */
export const minBypassSeconds = 60;

/** What a bypass started from My account lasts when the user is not asked: 300 s, or less. */
export function plainBypassSeconds(settings: PortalSettings): number {
  return Math.min(defaultBypassSeconds, settings.bypassMaxSeconds);
}

/**
 * The seconds typed by the user: digits only, within 60 and the admin's maximum. Returns the
 * number, or the error to show against the field.
 */
export function readBypassSeconds(typed: string, max: number): number | FieldError {
  const text = typed.trim();
  const field = 'seconds';
  if (text === '') return { field, message: 'bypassPage.errors.required' };
  if (!/^\d+$/.test(text)) return { field, message: 'bypassPage.errors.wholeNumber' };
  const seconds = Number(text);
  if (seconds < minBypassSeconds || seconds > max) {
    return { field, message: 'bypassPage.errors.range', values: { min: minBypassSeconds, max } };
  }
  return seconds;
}

/**
 * SPEC J3, M7: the one-time bypass a user starts for themselves, when the settings allow it.
 * Their next sign-in within its seconds needs only the password, once (sign-in/next-step.ts).
 * Starting one switches the second factor off for a while, so it needs a recent proof and is
 * announced by email; cancelling one only restores the protection, so it needs neither.
 */
export function bypassRoutes(services: Services): Router {
  const router = Router();
  router.use('/account/bypass', requireChangeAllowed(services, 'bypass'));

  async function settingsOf(res: Response): Promise<PortalSettings> {
    return res.locals.portalSettings ?? (await services.settings.read());
  }

  async function renderBypass(res: Response, status: number, errors: FieldError[], typed = '') {
    const settings = await settingsOf(res);
    const user = accountUser(res);
    const lng = res.locals.lng;
    const minutes = (seconds: number) =>
      new Intl.NumberFormat(lng, {
        style: 'unit',
        unit: 'minute',
        unitDisplay: 'long',
        maximumFractionDigits: 1,
      }).format(seconds / 60);
    const suggested = plainBypassSeconds(settings);
    res.status(status).render('pages/account/bypass', {
      pending: await services.bypasses.pending(user),
      formatTime: dateFormat(lng, 'fullDateTime'),
      promptSeconds: settings.promptBypassSeconds,
      seconds: typed || String(suggested),
      minSeconds: minBypassSeconds,
      maxSeconds: settings.bypassMaxSeconds,
      longest: minutes(settings.bypassMaxSeconds),
      plainLength: minutes(suggested),
      emailed: services.email !== undefined && Boolean(user.email),
      errors,
    });
  }

  function context(req: Request, res: Response) {
    return contextOf(res);
  }

  router.get('/account/bypass', requireRecentProof(services), async (_req, res) => {
    await renderBypass(res, 200, []);
  });

  router.post('/account/bypass', requireRecentProof(services), async (req, res) => {
    const settings = await settingsOf(res);
    let seconds = plainBypassSeconds(settings);
    if (settings.promptBypassSeconds) {
      const form = readForm(req.body, ['seconds'] as const);
      const read = readBypassSeconds(form.seconds, settings.bypassMaxSeconds);
      if (typeof read !== 'number') {
        // A plausible typing slip is shown back to be corrected; an absurd length is not.
        await renderBypass(res, 400, [read], form.seconds.length <= 12 ? form.seconds : '');
        return;
      }
      seconds = read;
    } else {
      // The page has no seconds field then: one posted was not sent by our page.
      readForm(req.body, []);
    }
    const user = accountUser(res);
    const { expiresAt } = await services.bypasses.issue(user, { seconds }, context(req, res));
    // bypasses.issue has written the audit record; this is the email alone.
    void services.changes.notify(
      user,
      { type: 'bypass.issued', method: 'bypass', notice: 'bypassIssued', until: expiresAt },
      context(req, res),
    );
    res.redirect(303, res.locals.url('/account?done=bypassIssued'));
  });

  router.post('/account/bypass/cancel', async (req, res) => {
    readForm(req.body, []);
    const cancelled = await services.bypasses.cancel(accountUser(res), context(req, res));
    res.redirect(
      303,
      res.locals.url(cancelled ? '/account?done=bypassCancelled' : '/account/bypass'),
    );
  });

  return router;
}
