import { Router, type Request, type Response } from 'express';
import { maskPhone } from '../../core/phone-numbers.ts';
import type { PortalSettings } from '../../core/settings.ts';
import type { UserRow } from '../../data/users-repository.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { defaultCountry, phoneCountries, readPhone } from '../phone/forms.ts';
import { denialMessage, renderPaused, requirePhoneVerification } from '../phone/outcomes.ts';
import { codeError, readCode } from '../setup/validation.ts';
import { accountUser, requireChangeAllowed, requireRecentProof } from './permissions.ts';
import { methodsLeft, pinMethods } from '../../core/method-policy.ts';
import {
  lineKey,
  newLines,
  numberValues,
  sameLines,
  stopUsingMethod,
  type PhoneLines,
} from './phone-change.ts';
import { contextOf } from '../context.ts';

const phoneFields = [
  'phoneCountry',
  'phoneNumber',
  'phoneExtension',
  'backupCountry',
  'backupNumber',
  'backupExtension',
] as const;
const mobileFields = ['mobileCountry', 'mobileNumber'] as const;

type PhoneChange = NonNullable<Request['session']['phoneChange']>;
type Kind = PhoneChange['kind'];

/** The method each page looks after, as settings and enrolments name it. */
const methodOf = { phone: 'phone', mobile: 'sms' } as const;

/**
 * SPEC J3, M1, M2: the numbers for phone calls (primary, backup, extensions) and for text
 * messages. A new number is called or texted first and saved only once it has answered; a user
 * may also stop using either method while another one remains.
 */
export function phoneChangeRoutes(services: Services): Router {
  const router = Router();
  for (const kind of ['phone', 'mobile'] as const) {
    router.use(
      `/account/${kind}`,
      requireChangeAllowed(services, kind),
      requireRecentProof(services),
    );
  }

  const phoneVerification = () => requirePhoneVerification(services);
  const settingsOf = async (res: Response): Promise<PortalSettings> =>
    res.locals.portalSettings ?? (await services.settings.read());
  const languageOf = (res: Response) => accountUser(res).language ?? res.locals.lng;

  /** Where a saved change leads: to choosing a PIN first when the method asks for one (M5). */
  async function afterSaving(res: Response, method: 'phone' | 'sms') {
    const settings = await settingsOf(res);
    if (pinMethods(settings).includes(method) && accountUser(res).pin_hash === null) {
      return `/account/pin?needed=${method}`;
    }
    return `/account?done=${method === 'phone' ? 'phone' : 'mobile'}`;
  }

  async function othersLeft(res: Response, kind: Kind) {
    const user = accountUser(res);
    const enrolment = res.locals.enrolment ?? (await services.secondFactor.enrolmentOf(user));
    const telephony = services.phoneVerification !== undefined;
    return methodsLeft(enrolment, await settingsOf(res), telephony, methodOf[kind]);
  }

  function draftOf(req: Request, kind: Kind): PhoneChange | undefined {
    const draft = req.session.phoneChange;
    return draft?.kind === kind && draft.verificationId !== '' ? draft : undefined;
  }

  const withBackup = (user: UserRow, settings: PortalSettings) =>
    settings.promptBackupPhone || user.backup_phone !== null;

  async function renderPage(
    res: Response,
    kind: Kind,
    status: number,
    values: Record<string, string>,
    errors: FieldError[],
  ) {
    const user = accountUser(res);
    const settings = await settingsOf(res);
    const has = kind === 'phone' ? user.phone !== null : user.mobile_phone !== null;
    res.status(status).render(`pages/account/${kind}`, {
      values,
      errors,
      countries: phoneCountries,
      country: defaultCountry(res.locals.lng),
      backup: withBackup(user, settings),
      has,
      removable: has && (await othersLeft(res, kind)).length > 0,
    });
  }

  const currentPhoneValues = (user: UserRow) => ({
    ...numberValues('phone', user.phone, user.phone_extension),
    ...numberValues('backup', user.backup_phone, user.backup_extension),
  });

  /** The waiting page of a call or two-way text (SPEC J4), as User Setup shows it. */
  function renderWait(res: Response, kind: Kind, phone: string) {
    res.render('pages/phone/wait', {
      // WCAG 2.2.1: the page refreshes itself only when the user asks it to.
      auto: res.req.query.auto === 'on',
      method: methodOf[kind],
      phone: maskPhone(phone),
      action: res.locals.url(`/account/${kind}/wait`),
      back: res.locals.url(`/account/${kind}`),
    });
  }

  const context = (_req: Request, res: Response) => contextOf(res);
  // A paused call or text leaves the numbers as they are (SPEC S5).
  const backToAccount = { href: '/account', text: 'errors.backToAccount' };

  // Phone calls: primary and backup numbers, each with an extension.

  router.get('/account/phone', async (_req, res) => {
    await renderPage(res, 'phone', 200, currentPhoneValues(accountUser(res)), []);
  });

  router.post('/account/phone', async (req, res) => {
    const form = readForm(req.body, phoneFields);
    const user = accountUser(res);
    const settings = await settingsOf(res);
    const primary = readPhone(form, 'phone', { required: true, withExtension: true });
    const backup = withBackup(user, settings)
      ? readPhone(form, 'backup', { required: false, withExtension: true })
      : { phone: null, extension: null, errors: [] };
    const errors = [...primary.errors, ...backup.errors];
    if (errors.length > 0 || !primary.phone) {
      await renderPage(res, 'phone', 400, form, errors);
      return;
    }
    const change: PhoneLines = {
      phone: primary.phone,
      extension: primary.extension,
      backupPhone: backup.phone,
      backupExtension: backup.phone ? backup.extension : null,
    };
    delete req.session.phoneChange;
    if (sameLines(change, user)) {
      res.redirect(303, res.locals.url('/account'));
      return;
    }
    await proveNextLine(req, res, {
      kind: 'phone',
      ...change,
      proving: '',
      verificationId: '',
      proven: [],
    });
  });

  const linesOf = (draft: PhoneChange): PhoneLines | undefined =>
    draft.phone
      ? {
          phone: draft.phone,
          extension: draft.extension,
          backupPhone: draft.backupPhone,
          backupExtension: draft.backupExtension,
        }
      : undefined;

  /** Calls the next new number of the change, or saves the change once none is left. */
  async function proveNextLine(req: Request, res: Response, draft: PhoneChange) {
    const user = accountUser(res);
    const change = linesOf(draft);
    if (!change) {
      delete req.session.phoneChange;
      res.redirect(303, res.locals.url('/account/phone'));
      return;
    }
    const next = newLines(change, user).find(
      (line) => !draft.proven.includes(lineKey(line.phone, line.extension)),
    );
    if (!next) {
      await savePhoneLines(req, res, change);
      return;
    }
    // No backup number: an unanswered call must not be passed on to a number already proven.
    const started = await phoneVerification().startCall(
      {
        user,
        purpose: 'new-number',
        phone: next.phone,
        extension: next.extension,
        backupPhone: null,
        backupExtension: null,
        pinHash: null,
        language: languageOf(res),
      },
      context(req, res),
    );
    if (started.outcome === 'paused') {
      delete req.session.phoneChange;
      renderPaused(res, started, backToAccount);
      return;
    }
    req.session.phoneChange = {
      ...draft,
      proving: lineKey(next.phone, next.extension),
      verificationId: started.verificationId,
    };
    res.redirect(303, res.locals.url('/account/phone/wait'));
  }

  async function savePhoneLines(req: Request, res: Response, change: PhoneLines) {
    const user = accountUser(res);
    await services.users.updateAccount(user.id, {
      phone: change.phone,
      phone_extension: change.extension,
      backup_phone: change.backupPhone,
      backup_extension: change.backupExtension,
    });
    delete req.session.phoneChange;
    await services.changes.record(
      user,
      {
        type: 'change.phone',
        method: 'phone',
        phone: maskPhone(change.phone),
        notice: user.phone ? 'factorChanged' : 'factorAdded',
        what: 'phone',
      },
      context(req, res),
    );
    res.redirect(303, res.locals.url(await afterSaving(res, 'phone')));
  }

  /**
   * What became of the call or text in flight, if it is the one this change started to the number
   * being proven. An approval is taken once, so a reloaded page cannot use one answer twice.
   */
  async function outcomeOf(res: Response, draft: PhoneChange) {
    const user = accountUser(res);
    const verification = await phoneVerification().status(draft.verificationId, user.id);
    if (
      verification?.purpose !== 'new-number' ||
      lineKey(verification.phone, verification.extension) !== draft.proving
    ) {
      return { status: 'denied', reason: null, phone: '' } as const;
    }
    const { status, reason, phone } = verification;
    if (status === 'pending') return { status, reason, phone } as const;
    if (status === 'approved') {
      const taken = await phoneVerification().acknowledge(draft.verificationId, user.id, status);
      return { status: taken ? status : 'denied', reason, phone } as const;
    }
    return { status: 'denied', reason, phone } as const;
  }

  router.get('/account/phone/wait', async (req, res) => {
    const draft = draftOf(req, 'phone');
    if (!draft) {
      res.redirect(res.locals.url('/account/phone'));
      return;
    }
    const outcome = await outcomeOf(res, draft);
    if (outcome.status === 'pending') {
      renderWait(res, 'phone', outcome.phone);
      return;
    }
    if (outcome.status === 'approved') {
      await proveNextLine(req, res, {
        ...draft,
        proven: [...draft.proven, draft.proving],
        proving: '',
        verificationId: '',
      });
      return;
    }
    delete req.session.phoneChange;
    const primary = draft.phone && draft.proving === lineKey(draft.phone, draft.extension);
    const field = primary ? 'phoneNumber' : 'backupNumber';
    await renderPage(
      res,
      'phone',
      400,
      {
        ...numberValues('phone', draft.phone, draft.extension),
        ...numberValues('backup', draft.backupPhone, draft.backupExtension),
      },
      [{ field, message: denialMessage(outcome.reason) }],
    );
  });

  // Text messages: the mobile number.

  router.get('/account/mobile', async (_req, res) => {
    await renderPage(res, 'mobile', 200, numberValues('mobile', accountUser(res).mobile_phone), []);
  });

  router.post('/account/mobile', async (req, res) => {
    const form = readForm(req.body, mobileFields);
    const user = accountUser(res);
    const settings = await settingsOf(res);
    const mobile = readPhone(form, 'mobile', { required: true, withExtension: false });
    if (mobile.errors.length > 0 || !mobile.phone) {
      await renderPage(res, 'mobile', 400, form, mobile.errors);
      return;
    }
    delete req.session.phoneChange;
    if (mobile.phone === user.mobile_phone) {
      res.redirect(303, res.locals.url('/account'));
      return;
    }
    const started = await phoneVerification().startText(
      {
        user,
        purpose: 'new-number',
        phone: mobile.phone,
        pinHash: null,
        language: languageOf(res),
      },
      context(req, res),
    );
    if (started.outcome === 'paused') {
      renderPaused(res, started, backToAccount);
      return;
    }
    req.session.phoneChange = {
      kind: 'mobile',
      phone: mobile.phone,
      extension: null,
      backupPhone: null,
      backupExtension: null,
      proving: mobile.phone,
      verificationId: started.verificationId,
      proven: [],
    };
    const twoWay = settings.smsDirection === 'two-way';
    res.redirect(303, res.locals.url(twoWay ? '/account/mobile/wait' : '/account/mobile/code'));
  });

  async function saveMobile(req: Request, res: Response, mobile: string) {
    const user = accountUser(res);
    await services.users.updateAccount(user.id, { mobile_phone: mobile });
    delete req.session.phoneChange;
    await services.changes.record(
      user,
      {
        type: 'change.mobile',
        method: 'sms',
        phone: maskPhone(mobile),
        notice: user.mobile_phone ? 'factorChanged' : 'factorAdded',
        what: 'mobile',
      },
      context(req, res),
    );
    res.redirect(303, res.locals.url(await afterSaving(res, 'sms')));
  }

  router.get('/account/mobile/wait', async (req, res) => {
    const draft = draftOf(req, 'mobile');
    if (!draft) {
      res.redirect(res.locals.url('/account/mobile'));
      return;
    }
    const outcome = await outcomeOf(res, draft);
    if (outcome.status === 'pending') {
      renderWait(res, 'mobile', outcome.phone);
      return;
    }
    if (outcome.status === 'approved') {
      await saveMobile(req, res, draft.proving);
      return;
    }
    delete req.session.phoneChange;
    await renderPage(res, 'mobile', 400, numberValues('mobile', draft.phone), [
      { field: 'mobileNumber', message: denialMessage(outcome.reason) },
    ]);
  });

  async function renderCode(
    res: Response,
    draft: PhoneChange,
    status: number,
    errors: FieldError[],
    notice = '',
  ) {
    const settings = await settingsOf(res);
    res.status(status).render('pages/setup/sms-code', {
      errors,
      notice,
      phone: maskPhone(draft.proving),
      minutes: Math.round(settings.smsCodeLifetimeSeconds / 60),
      pinRequired: false,
      action: '/account/mobile/code',
      resendAction: '/account/mobile/resend',
    });
  }

  router.get('/account/mobile/code', async (req, res) => {
    const draft = draftOf(req, 'mobile');
    if (!draft) {
      res.redirect(res.locals.url('/account/mobile'));
      return;
    }
    await renderCode(res, draft, 200, [], 'resent' in req.query ? 'codes.resent' : '');
  });

  router.post('/account/mobile/resend', async (req, res) => {
    readForm(req.body, []);
    const draft = draftOf(req, 'mobile');
    const paused =
      draft && (await phoneVerification().resendText(draft.verificationId, context(req, res)));
    if (paused) {
      renderPaused(res, paused, backToAccount);
      return;
    }
    res.redirect(303, res.locals.url('/account/mobile/code?resent'));
  });

  router.post('/account/mobile/code', async (req, res) => {
    const form = readForm(req.body, ['code'] as const);
    const user = accountUser(res);
    const draft = draftOf(req, 'mobile');
    if (!draft) {
      res.redirect(303, res.locals.url('/account/mobile'));
      return;
    }
    const errors = codeError('code', form.code, [6]);
    const code = readCode(form.code, [6]);
    if (errors.length > 0 || !code) {
      await renderCode(res, draft, 400, errors);
      return;
    }
    const outcome = await services.secondFactor.checkWithLockout(
      user,
      { type: 'enrolment.sms-code', method: 'sms' },
      contextOf(res),
      async () => ({
        ok: await phoneVerification().checkTypedCode(draft.verificationId, code, ''),
      }),
    );
    if (outcome.outcome === 'locked') {
      res.status(403).render('pages/verify/locked', {
        minutes: Math.max(1, Math.ceil((outcome.until - Date.now()) / 60_000)),
      });
      return;
    }
    if (outcome.outcome === 'invalid') {
      await renderCode(res, draft, 400, [{ field: 'code', message: 'codes.errors.wrongText' }]);
      return;
    }
    await phoneVerification().acknowledge(draft.verificationId, user.id, 'approved');
    await saveMobile(req, res, draft.proving);
  });

  // Stopping a method, while another one remains to sign in with.

  for (const kind of ['phone', 'mobile'] as const) {
    router.post(`/account/${kind}/remove`, async (req, res) => {
      readForm(req.body, []);
      const user = accountUser(res);
      const number = kind === 'phone' ? user.phone : user.mobile_phone;
      if (!number) {
        res.redirect(303, res.locals.url(`/account/${kind}`));
        return;
      }
      const left = await othersLeft(res, kind);
      if (left.length === 0) {
        const values =
          kind === 'phone' ? currentPhoneValues(user) : numberValues('mobile', user.mobile_phone);
        await renderPage(res, kind, 400, values, [
          { field: 'remove', message: `phoneChange.${kind}.remove.lastMethod` },
        ]);
        return;
      }
      await stopUsingMethod(services, user, methodOf[kind], left, await settingsOf(res));
      delete req.session.phoneChange;
      await services.changes.record(
        user,
        {
          type: kind === 'phone' ? 'change.phone' : 'change.mobile',
          method: methodOf[kind],
          phone: maskPhone(number),
          notice: 'factorRemoved',
          what: kind,
        },
        context(req, res),
      );
      res.redirect(303, res.locals.url(`/account?done=${kind}`));
    });
  }

  return router;
}
