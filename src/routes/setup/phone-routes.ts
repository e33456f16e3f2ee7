import type { Response, Router } from 'express';
import createError from 'http-errors';
import { noChannels, offeredMethods, pinRequired } from '../../core/method-policy.ts';
import type { ProofOutcome } from '../../core/service/enrolment.ts';
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

/** What User Setup does once a number proved itself: the questions next, or the setup saved. */
interface SetupSteps {
  afterProof: (
    res: Response,
    proven: Extract<ProofOutcome, { outcome: 'proven' }>,
  ) => Promise<void>;
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
export function phoneSetupRoutes(router: Router, services: Services, steps: SetupSteps): void {
  const { mfa } = services;
  const accountOf = (res: Response) => accountOrRefuse(res.locals.pendingUser);

  async function requireOffered(res: Response, method: PhoneMethod) {
    requireTelephony(res);
    const settings = await settingsOf(res, services);
    if (!offeredMethods(settings, res.locals.telephony ?? noChannels).includes(method))
      throw createError(404);
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
    if (draftId === undefined) throw createError(400, 'Setup not proven');
    const questions = res.locals.portalSettings?.useSecurityQuestions ?? true;
    await steps.afterProof(res, {
      outcome: 'proven',
      draftId,
      next: questions ? 'questions' : 'complete',
    });
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
      if (
        !settings ||
        !offeredMethods(settings, res.locals.telephony ?? noChannels).includes(method)
      )
        throw createError(404);
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
