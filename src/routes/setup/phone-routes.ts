import type { Response, Router } from 'express';
import createError from 'http-errors';
import { maskPhone } from '../../core/phone-numbers.ts';
import type { PortalSettings } from '../../core/settings.ts';
import type { UserRow } from '../../data/users-repository.ts';
import type { Services } from '../../services.ts';
import { denialMessage, renderPaused, requirePhoneVerification } from '../phone/outcomes.ts';
import { readForm, type FieldError } from '../form.ts';
import { defaultCountry, phoneCountries, readPhone } from '../phone/forms.ts';
import type { SetupMethod } from '../../core/method-policy.ts';
import { codeError, newPinErrors, readCode } from './validation.ts';
import { contextOf } from '../context.ts';

interface SetupSteps {
  offered: () => Promise<SetupMethod[]>;
  afterProof: (res: Response, user: UserRow) => Promise<void>;
  userOf: (res: Response) => UserRow;
  pinRequired: (method: SetupMethod, settings: PortalSettings) => boolean;
}

const phoneFields = [
  'phoneCountry',
  'phoneNumber',
  'phoneExtension',
  'backupCountry',
  'backupNumber',
  'backupExtension',
  'pin',
  'pinConfirmation',
] as const;
const smsFields = ['mobileCountry', 'mobileNumber', 'pin', 'pinConfirmation'] as const;

/** User Setup for a phone call or a text message: number, PIN, then proof by the phone. */
export function phoneSetupRoutes(router: Router, services: Services, steps: SetupSteps): void {
  const { settings: settingsRepository, secondFactor } = services;

  const phoneVerification = () => requirePhoneVerification(services);
  const context = (res: Response) => contextOf(res);
  // A paused call or text leaves the choice of another method (SPEC S5).
  const otherMethod = { href: '/setup', text: 'setup.otherMethod' };

  async function requireOffered(method: 'phone' | 'sms') {
    if (!(await steps.offered()).includes(method)) throw createError(404);
    return settingsRepository.read();
  }

  async function renderForm(
    res: Response,
    method: 'phone' | 'sms',
    status: number,
    values: Record<string, string>,
    errors: FieldError[],
  ) {
    const settings = await settingsRepository.read();
    res.status(status).render(`pages/setup/${method}`, {
      values,
      errors,
      countries: phoneCountries,
      country: defaultCountry(res.locals.lng),
      backup: settings.promptBackupPhone,
      pinRequired: steps.pinRequired(method, settings),
      pinMinLength: settings.pinMinLength,
    });
  }

  router.get('/setup/phone', async (_req, res) => {
    await requireOffered('phone');
    await renderForm(res, 'phone', 200, {}, []);
  });

  router.post('/setup/phone', async (req, res) => {
    const settings = await requireOffered('phone');
    const form = readForm(req.body, phoneFields);
    const user = steps.userOf(res);
    const primary = readPhone(form, 'phone', { required: true, withExtension: true });
    const backup = settings.promptBackupPhone
      ? readPhone(form, 'backup', { required: false, withExtension: true })
      : { phone: null, extension: null, errors: [] };
    const numbers = [primary.phone, backup.phone].filter((p): p is string => p !== null);
    const errors = [...primary.errors, ...backup.errors];
    if (steps.pinRequired('phone', settings)) {
      errors.push(...newPinErrors(form.pin, form.pinConfirmation, settings.pinMinLength, numbers));
    }
    if (errors.length > 0 || !primary.phone) {
      await renderForm(res, 'phone', 400, { ...form, pin: '', pinConfirmation: '' }, errors);
      return;
    }
    const pinHash = steps.pinRequired('phone', settings)
      ? await secondFactor.hashPin(form.pin)
      : undefined;
    const phone = {
      phone: primary.phone,
      extension: primary.extension,
      backupPhone: backup.phone,
      backupExtension: backup.extension,
    };
    const started = await phoneVerification().startCall(
      {
        user,
        purpose: 'enrolment',
        ...phone,
        pinHash: pinHash ?? null,
        language: res.locals.lng,
      },
      context(res),
    );
    if (started.outcome === 'paused') {
      renderPaused(res, started, otherMethod);
      return;
    }
    req.session.enrolment = {
      method: 'phone',
      phone,
      verificationId: started.verificationId,
      ...(pinHash ? { pinHash } : {}),
    };
    res.redirect(303, res.locals.url('/setup/phone/wait'));
  });

  router.get('/setup/sms', async (_req, res) => {
    await requireOffered('sms');
    await renderForm(res, 'sms', 200, {}, []);
  });

  router.post('/setup/sms', async (req, res) => {
    const settings = await requireOffered('sms');
    const form = readForm(req.body, smsFields);
    const user = steps.userOf(res);
    const mobile = readPhone(form, 'mobile', { required: true, withExtension: false });
    const errors = [...mobile.errors];
    if (steps.pinRequired('sms', settings)) {
      const numbers = mobile.phone ? [mobile.phone] : [];
      errors.push(...newPinErrors(form.pin, form.pinConfirmation, settings.pinMinLength, numbers));
    }
    if (errors.length > 0 || !mobile.phone) {
      await renderForm(res, 'sms', 400, { ...form, pin: '', pinConfirmation: '' }, errors);
      return;
    }
    const pinHash = steps.pinRequired('sms', settings)
      ? await secondFactor.hashPin(form.pin)
      : undefined;
    const started = await phoneVerification().startText(
      {
        user,
        purpose: 'enrolment',
        phone: mobile.phone,
        pinHash: pinHash ?? null,
        language: res.locals.lng,
      },
      context(res),
    );
    if (started.outcome === 'paused') {
      renderPaused(res, started, otherMethod);
      return;
    }
    req.session.enrolment = {
      method: 'sms',
      mobilePhone: mobile.phone,
      verificationId: started.verificationId,
      ...(pinHash ? { pinHash } : {}),
    };
    const twoWay = settings.smsDirection === 'two-way';
    res.redirect(303, res.locals.url(twoWay ? '/setup/sms/wait' : '/setup/sms/code'));
  });

  function draftFor(res: Response, method: 'phone' | 'sms') {
    const draft = res.req.session.enrolment;
    if (draft?.method !== method || !draft.verificationId) return undefined;
    return { ...draft, verificationId: draft.verificationId };
  }

  /** J4: the page waits for the call or reply, refreshing itself, with a "check now" button. */
  async function wait(res: Response, method: 'phone' | 'sms') {
    const draft = draftFor(res, method);
    const user = steps.userOf(res);
    if (!draft) {
      res.redirect(res.locals.url(`/setup/${method}`));
      return;
    }
    const verification = await phoneVerification().status(draft.verificationId, user.id);
    if (verification?.status === 'approved') {
      await phoneVerification().acknowledge(draft.verificationId, user.id, 'approved');
      res.req.session.enrolment = { ...draft, proof: { lastStep: null, counter: null } };
      await steps.afterProof(res, user);
      return;
    }
    if (verification?.status === 'pending') {
      res.render('pages/phone/wait', {
        // J4 with WCAG 2.2.1: the page refreshes itself only when the user asks it to.
        auto: res.req.query.auto === 'on',
        method,
        phone: maskPhone(verification.phone),
        action: res.locals.url(`/setup/${method}/wait`),
        back: res.locals.url(`/setup/${method}`),
      });
      return;
    }
    const reason = denialMessage(verification?.reason);
    await renderForm(res, method, 400, {}, [
      { field: method === 'phone' ? 'phoneNumber' : 'mobileNumber', message: reason },
    ]);
  }

  router.get('/setup/phone/wait', async (_req, res) => {
    await requireOffered('phone');
    await wait(res, 'phone');
  });

  router.get('/setup/sms/wait', async (_req, res) => {
    await requireOffered('sms');
    await wait(res, 'sms');
  });

  async function renderCode(res: Response, status: number, errors: FieldError[], notice = '') {
    const settings = await settingsRepository.read();
    const draft = draftFor(res, 'sms');
    res.status(status).render('pages/setup/sms-code', {
      errors,
      notice,
      phone: maskPhone(draft?.mobilePhone ?? ''),
      minutes: Math.round(settings.smsCodeLifetimeSeconds / 60),
      pinRequired: steps.pinRequired('sms', settings),
    });
  }

  router.get('/setup/sms/code', async (req, res) => {
    await requireOffered('sms');
    if (!draftFor(res, 'sms')) {
      res.redirect(res.locals.url('/setup/sms'));
      return;
    }
    await renderCode(res, 200, [], 'resent' in req.query ? 'codes.resent' : '');
  });

  router.post('/setup/sms/resend', async (req, res) => {
    await requireOffered('sms');
    readForm(req.body, []);
    const draft = draftFor(res, 'sms');
    const paused =
      draft && (await phoneVerification().resendText(draft.verificationId, context(res)));
    if (paused) {
      renderPaused(res, paused, otherMethod);
      return;
    }
    res.redirect(303, res.locals.url('/setup/sms/code?resent'));
  });

  router.post('/setup/sms/code', async (req, res) => {
    const settings = await requireOffered('sms');
    const form = readForm(req.body, ['code', 'pin'] as const);
    const user = steps.userOf(res);
    const draft = draftFor(res, 'sms');
    if (!draft) {
      res.redirect(303, res.locals.url('/setup/sms'));
      return;
    }
    const errors = codeError('code', form.code, [6]);
    const pinRequired = steps.pinRequired('sms', settings);
    if (pinRequired && form.pin === '')
      errors.push({ field: 'pin', message: 'pin.errors.missing' });
    const code = readCode(form.code, [6]);
    if (errors.length > 0 || !code) {
      await renderCode(res, 400, errors);
      return;
    }
    const outcome = await secondFactor.checkWithLockout(
      user,
      { type: 'enrolment.sms-code', method: 'sms' },
      contextOf(res),
      async () => ({
        ok: await phoneVerification().checkTypedCode(
          draft.verificationId,
          code,
          pinRequired ? form.pin : '',
        ),
      }),
    );
    if (outcome.outcome === 'locked') {
      res.status(403).render('pages/verify/locked', {
        minutes: Math.max(1, Math.ceil((outcome.until - Date.now()) / 60_000)),
      });
      return;
    }
    if (outcome.outcome === 'invalid') {
      await renderCode(res, 400, [
        {
          field: 'code',
          message: pinRequired ? 'codes.errors.wrongWithPin' : 'codes.errors.wrongText',
        },
      ]);
      return;
    }
    await phoneVerification().acknowledge(draft.verificationId, user.id, 'approved');
    req.session.enrolment = { ...draft, proof: { lastStep: null, counter: null } };
    await steps.afterProof(res, user);
  });
}
