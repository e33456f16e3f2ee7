import type { Response, Router } from 'express';
import createError from 'http-errors';
import { createDrafts, type EnrolmentDraft } from '../../core/drafts.ts';
import { offeredMethods, pinRequired } from '../../core/method-policy.ts';
import type { PhoneMethod } from '../../core/service/phone.ts';
import type { Services } from '../../services.ts';
import { contextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';
import {
  accountOrRefuse,
  phoneAttemptRoutes,
  settingsOf,
  showStarted,
  type PhoneJourney,
} from '../phone/attempt-routes.ts';
import { defaultCountry, phoneCountries, typedNumber } from '../phone/forms.ts';
import { denialMessage, renderLocked, requireTelephony } from '../phone/outcomes.ts';

/** Transitional: today's completion of User Setup, which reads the draft from the session. */
interface SetupSteps<User> {
  userOf: (res: Response) => User;
  afterProof: (res: Response, user: User) => Promise<void>;
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

/** User Setup for a phone call or a text message: number, PIN, then proof by the phone (J2). */
export function phoneSetupRoutes<User>(
  router: Router,
  services: Services,
  steps: SetupSteps<User>,
): void {
  const { mfa } = services;
  const accountOf = (res: Response) => accountOrRefuse(res.locals.pendingUser);

  async function requireOffered(res: Response, method: PhoneMethod) {
    requireTelephony(res);
    const settings = await settingsOf(res, services);
    if (!offeredMethods(settings, true).includes(method)) throw createError(404);
    return settings;
  }

  async function renderForm(
    res: Response,
    method: PhoneMethod,
    status: number,
    values: Record<string, string>,
    errors: FieldError[],
  ) {
    const settings = await settingsOf(res, services);
    res.status(status).render(`pages/setup/${method}`, {
      values,
      errors,
      countries: phoneCountries,
      country: defaultCountry(res.locals.lng),
      backup: settings.promptBackupPhone,
      pinRequired: pinRequired(method, settings),
      pinMinLength: settings.pinMinLength,
    });
  }

  /**
   * The number answered: on to the security questions when they are asked for, otherwise User
   * Setup is saved and the user signed in (SPEC J2), as after an app or a token.
   */
  async function handOver(res: Response) {
    const draftId = res.req.session.enrolmentDraftId;
    const { id: userId } = accountOf(res);
    // TODO(enrolment): the one call site to change once User Setup reads its draft from the core
    // (the enrolment area's branch): questions on, a redirect to /setup/questions; off,
    // `await mfa.enrolment.complete(contextOf(res), { userId, draftId, answers: [] })`, then the
    // signed-in session and /account?enrolled, as that area's `afterProof` does for the app. Until
    // then today's completion reads the proven draft from the session, so it is put there.
    const draft =
      draftId &&
      (await createDrafts({
        db: services.database.db,
        encryptionKey: services.encryptionKey,
      }).read<EnrolmentDraft>(userId, 'enrolment', draftId));
    if (!draft || !draft.proof) throw createError(400, 'Setup not proven');
    res.req.session.enrolment = {
      method: draft.method,
      proof: draft.proof,
      ...(draft.pinHash ? { pinHash: draft.pinHash } : {}),
      ...(draft.phone ? { phone: draft.phone } : {}),
      ...(draft.mobilePhone ? { mobilePhone: draft.mobilePhone } : {}),
    };
    await steps.afterProof(res, steps.userOf(res));
  }

  const journey: PhoneJourney = {
    purpose: 'enrolment',
    accountOf,
    attemptOf: (req) => {
      const draftId = req.session.enrolmentDraftId;
      return draftId ? { purpose: 'enrolment', draftId } : undefined;
    },
    // A User Setup that was not proven stays as it is: the form says why, and the user retries.
    forget: () => undefined,
    requireMethod: (res, method) => {
      requireTelephony(res);
      const settings = res.locals.portalSettings;
      if (!settings || !offeredMethods(settings, true).includes(method)) throw createError(404);
    },
    paths: {
      wait: { phone: '/setup/phone/wait', sms: '/setup/sms/wait' },
      code: '/setup/sms/code',
      resend: '/setup/sms/resend',
      start: (method) => (method ? `/setup/${method}` : '/setup'),
    },
    // A paused call or text leaves the choice of another method (SPEC S5).
    pausedBack: { href: '/setup', text: 'setup.otherMethod' },
    succeed: (res) => handOver(res),
    deny: (res, denied) =>
      renderForm(res, denied.method, 400, {}, [
        {
          field: denied.method === 'phone' ? 'phoneNumber' : 'mobileNumber',
          message: denialMessage(denied.reason),
        },
      ]),
    renderLocked,
  };

  for (const method of ['phone', 'sms'] as const) {
    router.get(`/setup/${method}`, async (_req, res) => {
      await requireOffered(res, method);
      await renderForm(res, method, 200, {}, []);
    });
  }

  router.post('/setup/phone', async (req, res) => {
    const settings = await requireOffered(res, 'phone');
    const form = readForm(req.body, phoneFields);
    const { id: userId } = accountOf(res);
    const begun = await mfa.phone.beginEnrolment(contextOf(res), {
      userId,
      method: 'phone',
      phone: typedNumber(form, 'phone'),
      backup: settings.promptBackupPhone ? typedNumber(form, 'backup') : null,
      pin: form.pin,
      pinConfirmation: form.pinConfirmation,
    });
    if (begun.outcome === 'invalid') {
      await renderForm(res, 'phone', 400, { ...form, pin: '', pinConfirmation: '' }, begun.errors);
      return;
    }
    const { draftId } = begun;
    const started = await mfa.phone.startCall(contextOf(res), {
      userId,
      purpose: 'enrolment',
      draftId,
    });
    showStarted(res, journey, 'phone', started, () => {
      req.session.enrolmentDraftId = draftId;
    });
  });

  router.post('/setup/sms', async (req, res) => {
    await requireOffered(res, 'sms');
    const form = readForm(req.body, smsFields);
    const { id: userId } = accountOf(res);
    const begun = await mfa.phone.beginEnrolment(contextOf(res), {
      userId,
      method: 'sms',
      mobile: typedNumber(form, 'mobile'),
      pin: form.pin,
      pinConfirmation: form.pinConfirmation,
    });
    if (begun.outcome === 'invalid') {
      await renderForm(res, 'sms', 400, { ...form, pin: '', pinConfirmation: '' }, begun.errors);
      return;
    }
    const { draftId } = begun;
    const started = await mfa.phone.startText(contextOf(res), {
      userId,
      purpose: 'enrolment',
      draftId,
    });
    showStarted(res, journey, 'sms', started, () => {
      req.session.enrolmentDraftId = draftId;
    });
  });

  phoneAttemptRoutes(router, services, journey);
}
