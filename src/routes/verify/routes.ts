import { Router, type Response } from 'express';
import createError from 'http-errors';
import type { CheckOutcome, CheckPurpose } from '../../core/second-factor.ts';
import { maskPhone } from '../../core/phone-numbers.ts';
import { methods, type Method, type PortalSettings } from '../../core/settings.ts';
import type { UserRow } from '../../data/users-repository.ts';
import { provenAgain, startSignedInSession } from '../../middleware/session.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { codeError, readCode } from '../setup/validation.ts';
import { phoneVerifyRoutes } from './phone-routes.ts';
import { contextOf } from '../context.ts';

type CodeMethod = Extract<Method, 'app' | 'token'>;
type PhoneMethod = Extract<Method, 'phone' | 'sms'>;

/**
 * The same pages serve two purposes: the second step of sign-in (/verify, for the user whose
 * password was just proven) and proving a factor again before a change (/account/confirm, for
 * the signed-in user, SPEC J3 and ASVS 5 7.5.1).
 */
export interface SecondStepMode {
  base: '/verify' | '/account/confirm';
  purpose: CheckPurpose;
  userOf: (res: Response) => UserRow;
  succeed: (res: Response, user: UserRow) => Promise<void>;
}

function signInMode(services: Services): SecondStepMode {
  return {
    base: '/verify',
    purpose: 'sign-in.second-step',
    userOf(res) {
      const user = res.locals.pendingUser && res.locals.userRow;
      if (!user) throw createError(401);
      return user;
    },
    async succeed(res, user) {
      delete res.req.session.askedQuestionIds;
      await startSignedInSession(
        res.req,
        user.id,
        services.config.SESSION_ABSOLUTE_HOURS * 3_600_000,
      );
      res.req.session.provenAt = Date.now();
      res.redirect(303, res.locals.url('/account'));
    },
  };
}

function proofMode(): SecondStepMode {
  return {
    base: '/account/confirm',
    purpose: 'proof',
    userOf(res) {
      const user = res.locals.user && res.locals.userRow;
      if (!user) throw createError(401);
      return user;
    },
    async succeed(res) {
      delete res.req.session.askedQuestionIds;
      const back = res.req.session.proofReturnTo ?? '/account';
      await provenAgain(res.req);
      res.redirect(303, res.locals.url(back));
    },
  };
}

/** The ways this user can prove the second step now, the default first (SPEC J1). */
export async function optionsFor(services: Services, user: UserRow, settings: PortalSettings) {
  const enrolment = await services.secondFactor.enrolmentOf(user);
  const codeMethods = enrolment.methods.filter(
    (m): m is CodeMethod => m === 'app' || m === 'token',
  );
  // Calls and texts need the provider; without it those methods cannot be offered.
  const phoneMethods = services.phoneVerification
    ? enrolment.methods.filter((m): m is PhoneMethod => m === 'phone' || m === 'sms')
    : [];
  const all: Method[] = [...phoneMethods, ...codeMethods];
  const preferred = all.find((m) => m === user.default_method) ?? all[0];
  const questions =
    settings.useSecurityQuestions && enrolment.answeredQuestions >= settings.questionsToAnswer;
  const tokenDigits = enrolment.devices.filter((d) => d.kind === 'token').map((d) => d.digits);
  return { all, codeMethods, phoneMethods, preferred, questions, tokenDigits };
}

/** SPEC J1 second step: a code from the app or token, or security questions as a fallback. */
export function verifyRoutes(services: Services): Router {
  return secondStepRoutes(services, signInMode(services));
}

/** SPEC J3: a fresh second-factor proof before a change to a factor. */
export function confirmRoutes(services: Services): Router {
  return secondStepRoutes(services, proofMode());
}

function secondStepRoutes(services: Services, mode: SecondStepMode): Router {
  const { secondFactor, settings: settingsRepository } = services;
  const { base, purpose, userOf, succeed } = mode;
  const router = Router();
  if (purpose === 'proof') {
    // SPEC L4: the proof pages say how long a proof lasts.
    router.use(base, async (_req, res, next) => {
      res.locals.proofMinutes = (await settingsRepository.read()).proofMinutes;
      next();
    });
  }

  function renderLocked(res: Response, until: number) {
    res.status(403).render('pages/verify/locked', {
      minutes: Math.max(1, Math.ceil((until - Date.now()) / 60_000)),
    });
  }

  async function renderCode(
    res: Response,
    status: number,
    method: Method | undefined,
    errors: FieldError[],
  ) {
    const user = userOf(res);
    const settings = await settingsRepository.read();
    const options = await optionsFor(services, user, settings);
    const chosen = method && options.all.includes(method) ? method : options.preferred;
    if (!chosen) {
      if (options.questions) {
        res.redirect(res.locals.url(`${base}/questions`));
        return;
      }
      throw createError(403, 'No way to verify', { page: 'notEnrolled' });
    }
    const others = options.all.filter((m) => m !== chosen);
    if (chosen === 'phone' || chosen === 'sms') {
      const phone = chosen === 'phone' ? user.phone : user.mobile_phone;
      res.status(status).render('pages/verify/phone', {
        base,
        purpose,
        method: chosen,
        phone: maskPhone(phone ?? ''),
        others,
        questions: options.questions,
        errors,
      });
      return;
    }
    const digits = chosen === 'token' ? [...new Set(options.tokenDigits)] : [6];
    res.status(status).render('pages/verify/code', {
      base,
      purpose,
      method: chosen,
      digits,
      pinRequired: chosen === 'app' && settings.appMode === 'pin',
      others,
      questions: options.questions,
      errors,
    });
  }

  router.get(base, async (req, res) => {
    const method = methods.find((m) => m === req.query.method);
    await renderCode(res, 200, method, []);
  });

  router.post(base, async (req, res) => {
    const form = readForm(req.body, ['method', 'code', 'pin'] as const);
    const user = userOf(res);
    const settings = await settingsRepository.read();
    const options = await optionsFor(services, user, settings);
    const method = options.codeMethods.find((m) => m === form.method);
    if (!method) throw createError(400, 'Unknown method');
    const digits = method === 'token' ? [...new Set(options.tokenDigits)] : [6];
    const pinRequired = method === 'app' && settings.appMode === 'pin';
    const errors = codeError('code', form.code, digits);
    if (pinRequired && form.pin === '')
      errors.push({ field: 'pin', message: 'pin.errors.missing' });
    const code = readCode(form.code, digits);
    if (errors.length > 0 || !code) {
      await renderCode(res, 400, method, errors);
      return;
    }
    const outcome: CheckOutcome = await secondFactor.checkDeviceCode(
      user,
      [method],
      code,
      pinRequired ? form.pin : undefined,
      contextOf(res),
      purpose,
    );
    if (outcome.outcome === 'success') await succeed(res, user);
    else if (outcome.outcome === 'locked') renderLocked(res, outcome.until);
    else
      await renderCode(res, 400, method, [
        {
          field: 'code',
          message: pinRequired ? 'codes.errors.wrongWithPin' : 'codes.errors.wrong',
        },
      ]);
  });

  async function askedQuestions(res: Response, user: UserRow, settings: PortalSettings) {
    const session = res.req.session;
    const answered = await secondFactor.questionsToAsk(user, Number.MAX_SAFE_INTEGER);
    const kept = (session.askedQuestionIds ?? [])
      .map((id) => answered.find((q) => q.id === id))
      .filter((q) => q !== undefined);
    if (kept.length === settings.questionsToAnswer) return kept;
    const fresh = answered.slice(0, settings.questionsToAnswer);
    session.askedQuestionIds = fresh.map((q) => q.id);
    return fresh;
  }

  router.get(`${base}/questions`, async (_req, res) => {
    const user = userOf(res);
    const settings = await settingsRepository.read();
    if (!(await optionsFor(services, user, settings)).questions) throw createError(404);
    res.render('pages/verify/questions', {
      base,
      purpose,
      asked: await askedQuestions(res, user, settings),
      errors: [],
    });
  });

  router.post(`${base}/questions`, async (req, res) => {
    const user = userOf(res);
    const settings = await settingsRepository.read();
    if (!(await optionsFor(services, user, settings)).questions) throw createError(404);
    const asked = await askedQuestions(res, user, settings);
    const form: Record<string, string> = readForm(
      req.body,
      asked.map((_, i) => `answer${i}`),
    );
    const errors: FieldError[] = asked.flatMap((_, i) =>
      (form[`answer${i}`] ?? '').trim() === ''
        ? [{ field: `answer${i}`, message: 'verify.questions.errors.answerMissing' }]
        : [],
    );
    if (errors.length > 0) {
      res.status(400).render('pages/verify/questions', { base, purpose, asked, errors });
      return;
    }
    const outcome = await secondFactor.checkAnswers(
      user,
      asked.map((q, i) => ({ questionId: q.id, answer: form[`answer${i}`] ?? '' })),
      contextOf(res),
      purpose,
    );
    if (outcome.outcome === 'success') await succeed(res, user);
    else if (outcome.outcome === 'locked') renderLocked(res, outcome.until);
    else {
      res.status(400).render('pages/verify/questions', {
        base,
        purpose,
        asked,
        errors: [{ field: 'answer0', message: 'verify.questions.errors.wrong' }],
      });
    }
  });

  phoneVerifyRoutes(router, services, {
    base,
    purpose,
    userOf,
    succeed,
    renderLocked,
    renderCode,
    optionsFor,
  });
  return router;
}
