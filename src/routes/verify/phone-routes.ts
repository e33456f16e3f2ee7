import type { Response, Router } from 'express';
import createError from 'http-errors';
import { maskPhone } from '../../core/phone-numbers.ts';
import type { CheckPurpose } from '../../core/second-factor.ts';
import type { SecondStepOptions } from '../../core/service/second-step.ts';
import type { Method } from '../../core/settings.ts';
import type { UserRow } from '../../data/users-repository.ts';
import type { Services } from '../../services.ts';
import { denialMessage, renderPaused, requirePhoneVerification } from '../phone/outcomes.ts';
import { readForm, type FieldError } from '../form.ts';
import { codeError, readCode } from '../setup/validation.ts';
import { contextOf } from '../context.ts';

interface VerifySteps {
  base: '/verify' | '/account/confirm';
  purpose: CheckPurpose;
  succeed: (res: Response) => Promise<void>;
  renderLocked: (res: Response, until: number) => void;
  renderCode: (
    res: Response,
    status: number,
    method: Method | undefined,
    errors: FieldError[],
  ) => Promise<void>;
  options: (res: Response) => Promise<SecondStepOptions>;
}

/** Transitional: the account's row, until calls and texts go through the MfaService. */
function userOf(res: Response): UserRow {
  if (!res.locals.userRow) throw createError(401);
  return res.locals.userRow;
}

/** The second step by phone call or text message (SPEC J1, J4, M1, M2). */
export function phoneVerifyRoutes(router: Router, services: Services, steps: VerifySteps): void {
  const { settings: settingsRepository, secondFactor } = services;
  const { base, purpose } = steps;

  const phoneVerification = () => requirePhoneVerification(services);
  const context = (res: Response) => contextOf(res);
  // A paused call or text leaves the other ways to verify (SPEC S5).
  const otherWay = { href: base, text: 'callsPaused.otherWay' };

  /** A locked account gets no call or text: the attempt could not count anyway (SPEC M8, S5). */
  function refusedWhileLocked(res: Response, user: UserRow): boolean {
    if (user.locked_until === null || user.locked_until <= Date.now()) return false;
    steps.renderLocked(res, user.locked_until);
    return true;
  }

  async function requireEnrolled(res: Response, method: 'phone' | 'sms') {
    const user = userOf(res);
    const settings = await settingsRepository.read();
    if (!(await steps.options(res)).methods.includes(method)) throw createError(404);
    return { user, settings };
  }

  router.post(`${base}/phone`, async (req, res) => {
    readForm(req.body, []);
    const { user, settings } = await requireEnrolled(res, 'phone');
    if (!user.phone) throw createError(404);
    if (refusedWhileLocked(res, user)) return;
    const started = await phoneVerification().startCall(
      {
        user,
        purpose: purpose === 'proof' ? 'proof' : 'sign-in',
        phone: user.phone,
        extension: user.phone_extension,
        backupPhone: user.backup_phone,
        backupExtension: user.backup_extension,
        pinHash: settings.phoneMode === 'pin' ? user.pin_hash : null,
        language: user.language ?? res.locals.lng,
      },
      context(res),
    );
    if (started.outcome === 'paused') {
      renderPaused(res, started, otherWay);
      return;
    }
    req.session.verificationId = started.verificationId;
    res.redirect(303, res.locals.url(`${base}/wait`));
  });

  router.post(`${base}/sms`, async (req, res) => {
    readForm(req.body, []);
    const { user, settings } = await requireEnrolled(res, 'sms');
    if (!user.mobile_phone) throw createError(404);
    if (refusedWhileLocked(res, user)) return;
    const started = await phoneVerification().startText(
      {
        user,
        purpose: purpose === 'proof' ? 'proof' : 'sign-in',
        phone: user.mobile_phone,
        pinHash: settings.smsMode === 'otp-pin' ? user.pin_hash : null,
        language: user.language ?? res.locals.lng,
      },
      context(res),
    );
    if (started.outcome === 'paused') {
      renderPaused(res, started, otherWay);
      return;
    }
    req.session.verificationId = started.verificationId;
    const twoWay = settings.smsDirection === 'two-way';
    res.redirect(303, res.locals.url(twoWay ? `${base}/wait` : `${base}/sms-code`));
  });

  router.get(`${base}/wait`, async (req, res) => {
    const user = userOf(res);
    const id = req.session.verificationId;
    const verification = id ? await phoneVerification().status(id, user.id) : undefined;
    if (!id || !verification) {
      res.redirect(res.locals.url(base));
      return;
    }
    if (verification.status === 'pending') {
      res.render('pages/phone/wait', {
        // J4 with WCAG 2.2.1: the page refreshes itself only when the user asks it to.
        auto: res.req.query.auto === 'on',
        method: verification.method,
        phone: maskPhone(verification.phone),
        action: res.locals.url(`${base}/wait`),
        back: res.locals.url(`${base}?method=${verification.method}`),
      });
      return;
    }
    if (
      verification.status === 'approved' &&
      (await phoneVerification().acknowledge(id, user.id, 'approved'))
    ) {
      const outcome = await secondFactor.checkWithLockout(
        user,
        { type: purpose, method: verification.method },
        contextOf(res),
        () => Promise.resolve({ ok: true }),
      );
      if (outcome.outcome === 'locked') steps.renderLocked(res, outcome.until);
      else await steps.succeed(res);
      return;
    }
    delete req.session.verificationId;
    // A wrong PIN or reply was counted when it came in (SPEC S5): it may have locked the account.
    if (user.locked_until !== null && user.locked_until > Date.now()) {
      steps.renderLocked(res, user.locked_until);
      return;
    }
    const message = denialMessage(verification.reason);
    await steps.renderCode(res, 400, verification.method, [{ field: 'start', message }]);
  });

  async function renderSmsCode(res: Response, status: number, errors: FieldError[], notice = '') {
    const user = userOf(res);
    const settings = await settingsRepository.read();
    res.status(status).render('pages/setup/sms-code', {
      errors,
      notice,
      phone: maskPhone(user.mobile_phone ?? ''),
      minutes: Math.round(settings.smsCodeLifetimeSeconds / 60),
      pinRequired: settings.smsMode === 'otp-pin',
      action: `${base}/sms-code`,
      resendAction: `${base}/sms/resend`,
    });
  }

  router.get(`${base}/sms-code`, async (req, res) => {
    await requireEnrolled(res, 'sms');
    if (!req.session.verificationId) {
      res.redirect(res.locals.url(`${base}?method=sms`));
      return;
    }
    await renderSmsCode(res, 200, [], 'resent' in req.query ? 'codes.resent' : '');
  });

  router.post(`${base}/sms/resend`, async (req, res) => {
    readForm(req.body, []);
    await requireEnrolled(res, 'sms');
    const id = req.session.verificationId;
    const paused = id && (await phoneVerification().resendText(id, context(res)));
    if (paused) {
      renderPaused(res, paused, otherWay);
      return;
    }
    res.redirect(303, res.locals.url(`${base}/sms-code?resent`));
  });

  router.post(`${base}/sms-code`, async (req, res) => {
    const form = readForm(req.body, ['code', 'pin'] as const);
    const { user, settings } = await requireEnrolled(res, 'sms');
    const id = req.session.verificationId;
    if (!id) {
      res.redirect(303, res.locals.url(`${base}?method=sms`));
      return;
    }
    const pinRequired = settings.smsMode === 'otp-pin';
    const errors = codeError('code', form.code, [6]);
    if (pinRequired && form.pin === '')
      errors.push({ field: 'pin', message: 'pin.errors.missing' });
    const code = readCode(form.code, [6]);
    if (errors.length > 0 || !code) {
      await renderSmsCode(res, 400, errors);
      return;
    }
    const outcome = await secondFactor.checkWithLockout(
      user,
      { type: purpose, method: 'sms' },
      contextOf(res),
      async () => {
        const ok = await phoneVerification().checkTypedCode(id, code, pinRequired ? form.pin : '');
        return { ok: ok && (await phoneVerification().acknowledge(id, user.id, 'approved')) };
      },
    );
    if (outcome.outcome === 'success') await steps.succeed(res);
    else if (outcome.outcome === 'locked') steps.renderLocked(res, outcome.until);
    else {
      await renderSmsCode(res, 400, [
        {
          field: 'code',
          message: pinRequired ? 'codes.errors.wrongWithPin' : 'codes.errors.wrongText',
        },
      ]);
    }
  });
}
