import { Router, type Request, type Response } from 'express';
import { methodsLeft, noChannels } from '../../core/method-policy.ts';
import type { Account } from '../../core/mfa-service.ts';
import type { PhoneMethod } from '../../core/service/phone.ts';
import type { PortalSettings } from '../../core/settings.ts';
import type { Services } from '../../services.ts';
import { contextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';
import {
  phoneAttemptRoutes,
  settingsOf,
  showStarted,
  type PhoneJourney,
} from '../phone/attempt-routes.ts';
import { defaultCountry, phoneCountries, typedNumber } from '../phone/forms.ts';
import { denialMessage, renderLocked } from '../phone/outcomes.ts';
import { numberValues } from './phone-change.ts';
import { requireChangeAllowed, requireRecentProof, signedInAccount } from './permissions.ts';

const phoneFields = [
  'phoneCountry',
  'phoneNumber',
  'phoneExtension',
  'backupCountry',
  'backupNumber',
  'backupExtension',
] as const;
const mobileFields = ['mobileCountry', 'mobileNumber'] as const;

type Kind = 'phone' | 'mobile';

/** The method each page looks after, as settings and enrolments name it, and back. */
const methodOf = { phone: 'phone', mobile: 'sms' } as const satisfies Record<Kind, PhoneMethod>;
const kindOf = { phone: 'phone', sms: 'mobile' } as const satisfies Record<PhoneMethod, Kind>;

/**
 * SPEC J3, M1, M2: the numbers for phone calls (primary, backup, extensions) and for text
 * messages. A new number is called or texted first and saved only once it has answered; a user
 * may also stop using either method while another one remains.
 */
export function phoneChangeRoutes(services: Services): Router {
  const { mfa } = services;
  const router = Router();
  for (const kind of ['phone', 'mobile'] as const) {
    router.use(
      `/account/${kind}`,
      requireChangeAllowed(services, kind),
      requireRecentProof(services),
    );
  }

  const withBackup = (account: Account, settings: PortalSettings) =>
    settings.promptBackupPhone || account.backupPhone !== null;

  async function renderPage(
    res: Response,
    kind: Kind,
    status: number,
    values: Record<string, string>,
    errors: FieldError[],
  ) {
    const account = signedInAccount(res);
    const settings = await settingsOf(res, services);
    const has = kind === 'phone' ? account.phone !== null : account.mobilePhone !== null;
    const left = methodsLeft(account, settings, res.locals.telephony ?? noChannels, methodOf[kind]);
    res.status(status).render(`pages/account/${kind}`, {
      values,
      errors,
      countries: phoneCountries,
      country: defaultCountry(res.locals.lng),
      backup: withBackup(account, settings),
      has,
      removable: has && left.length > 0,
    });
  }

  const currentValues = (account: Account, kind: Kind) =>
    kind === 'phone'
      ? {
          ...numberValues('phone', account.phone, account.phoneExtension),
          ...numberValues('backup', account.backupPhone, account.backupExtension),
        }
      : numberValues('mobile', account.mobilePhone);

  const journey: PhoneJourney = {
    purpose: 'change',
    accountOf: signedInAccount,
    attemptOf: (req) => {
      const draftId = req.session.phoneChangeDraftId;
      return draftId ? { purpose: 'change', draftId } : undefined;
    },
    forget: (req) => {
      delete req.session.phoneChangeDraftId;
    },
    // requireChangeAllowed guards every page of /account/phone and /account/mobile.
    requireMethod: () => undefined,
    paths: {
      wait: { phone: '/account/phone/wait', sms: '/account/mobile/wait' },
      code: '/account/mobile/code',
      resend: '/account/mobile/resend',
      start: (method) => `/account/${kindOf[method ?? 'phone']}`,
    },
    // A paused call or text leaves the numbers as they are (SPEC S5).
    pausedBack: { href: '/account', text: 'errors.backToAccount' },
    succeed: (res, proven) => proveOrSave(res.req, res, kindOf[proven.method]),
    deny: async (res, denied) => {
      journey.forget(res.req);
      const { change } = denied;
      const values = !change
        ? {}
        : change.kind === 'phone'
          ? {
              ...numberValues('phone', change.numbers.phone, change.numbers.extension),
              ...numberValues('backup', change.numbers.backupPhone, change.numbers.backupExtension),
            }
          : numberValues('mobile', change.mobilePhone);
      const field = `${change?.failed ?? kindOf[denied.method]}Number`;
      await renderPage(res, kindOf[denied.method], 400, values, [
        { field, message: denialMessage(denied.reason) },
      ]);
    },
    renderLocked,
  };

  /**
   * Saves the change once every new number of it has answered, or calls or texts the next one.
   * A saved number whose method asks for a PIN the user has not chosen leads to choosing it (M5).
   */
  async function proveOrSave(req: Request, res: Response, kind: Kind) {
    const draftId = req.session.phoneChangeDraftId;
    const userId = signedInAccount(res).id;
    const saved = draftId
      ? await mfa.phone.saveChange(contextOf(res), { userId, draftId })
      : ({ outcome: 'gone' } as const);
    if (saved.outcome !== 'unproven' || !draftId) {
      journey.forget(req);
      const next =
        saved.outcome !== 'saved'
          ? `/account/${kind}`
          : saved.pinNeeded
            ? `/account/pin?needed=${saved.method}`
            : `/account?done=${kind}`;
      res.redirect(303, res.locals.url(next));
      return;
    }
    const input = { userId, purpose: 'change', draftId } as const;
    const method = methodOf[kind];
    const started =
      method === 'phone'
        ? await mfa.phone.startCall(contextOf(res), input)
        : await mfa.phone.startText(contextOf(res), input);
    showStarted(res, journey, method, started, () => undefined);
  }

  for (const kind of ['phone', 'mobile'] as const) {
    router.get(`/account/${kind}`, async (_req, res) => {
      await renderPage(res, kind, 200, currentValues(signedInAccount(res), kind), []);
    });
  }

  router.post('/account/phone', async (req, res) => {
    const form = readForm(req.body, phoneFields);
    const account = signedInAccount(res);
    const settings = await settingsOf(res, services);
    const begun = await mfa.phone.beginChange(contextOf(res), {
      userId: account.id,
      kind: 'phone',
      phone: typedNumber(form, 'phone'),
      backup: withBackup(account, settings) ? typedNumber(form, 'backup') : null,
    });
    await begin(req, res, 'phone', form, begun);
  });

  router.post('/account/mobile', async (req, res) => {
    const form = readForm(req.body, mobileFields);
    const begun = await mfa.phone.beginChange(contextOf(res), {
      userId: signedInAccount(res).id,
      kind: 'mobile',
      mobile: typedNumber(form, 'mobile'),
    });
    await begin(req, res, 'mobile', form, begun);
  });

  async function begin(
    req: Request,
    res: Response,
    kind: Kind,
    form: Record<string, string>,
    begun: Awaited<ReturnType<typeof mfa.phone.beginChange>>,
  ) {
    if (begun.outcome === 'invalid') {
      await renderPage(res, kind, 400, form, begun.errors);
      return;
    }
    journey.forget(req);
    if (begun.outcome === 'unchanged') {
      res.redirect(303, res.locals.url('/account'));
      return;
    }
    req.session.phoneChangeDraftId = begun.draftId;
    await proveOrSave(req, res, kind);
  }

  // Stopping a method, while another one remains to sign in with.

  for (const kind of ['phone', 'mobile'] as const) {
    router.post(`/account/${kind}/remove`, async (req, res) => {
      readForm(req.body, []);
      const account = signedInAccount(res);
      const removed = await mfa.phone.removeNumbers(contextOf(res), {
        userId: account.id,
        method: methodOf[kind],
      });
      if (removed.outcome === 'not-found') {
        res.redirect(303, res.locals.url(`/account/${kind}`));
        return;
      }
      if (removed.outcome === 'last-method') {
        await renderPage(res, kind, 400, currentValues(account, kind), [
          { field: 'remove', message: `phoneChange.${kind}.remove.lastMethod` },
        ]);
        return;
      }
      journey.forget(req);
      res.redirect(303, res.locals.url(`/account?done=${kind}`));
    });
  }

  phoneAttemptRoutes(router, services, journey);
  return router;
}
