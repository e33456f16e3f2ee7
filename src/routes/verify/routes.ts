import { Router, type Response } from 'express';
import createError from 'http-errors';
import type { Account } from '../../core/mfa-service.ts';
import type { CheckPurpose } from '../../core/second-factor.ts';
import type { CodeMethod, SecondStepOutcome } from '../../core/service/second-step.ts';
import { pinMethods } from '../../core/method-policy.ts';
import { methods, type Method } from '../../core/settings.ts';
import { provenAgain, startSignedInSession } from '../../middleware/session.ts';
import type { Services } from '../../services.ts';
import { contextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';
import { codeError, readCode } from '../setup/validation.ts';
import { phoneVerifyRoutes } from './phone-routes.ts';

const codeMethods: readonly CodeMethod[] = ['app', 'token'];

/**
 * The same pages serve two purposes: the second step of sign-in (/verify, for the user whose
 * password was just proven) and proving a factor again before a change (/account/confirm, for
 * the signed-in user, SPEC J3 and ASVS 5 7.5.1).
 */
export interface SecondStepMode {
  base: '/verify' | '/account/confirm';
  purpose: CheckPurpose;
  accountOf: (res: Response) => Account;
  /** The second step or the proof succeeded, by this method (or the security questions). */
  succeed: (res: Response, by: Method | 'questions') => Promise<void>;
}

function signInMode(services: Services): SecondStepMode {
  const accountOf = (res: Response) => {
    if (!res.locals.pendingUser) throw createError(401);
    return res.locals.pendingUser;
  };
  return {
    base: '/verify',
    purpose: 'sign-in.second-step',
    accountOf,
    async succeed(res, by) {
      const account = accountOf(res);
      const settings = res.locals.portalSettings;
      // SPEC M5: proven with a PIN the helpdesk set, the user chooses their own before going on.
      if (
        account.pinChangeRequired &&
        by !== 'questions' &&
        settings !== undefined &&
        pinMethods(settings).includes(by)
      ) {
        res.req.session.pinChangeFor = account.id;
        res.redirect(303, res.locals.url('/verify/new-pin'));
        return;
      }
      await signInAfterSecondStep(res, services, account.id);
    },
  };
}

async function signInAfterSecondStep(res: Response, services: Services, userId: string) {
  await startSignedInSession(res.req, userId, services.config.SESSION_ABSOLUTE_HOURS * 3_600_000);
  res.req.session.provenAt = Date.now();
  res.redirect(303, res.locals.url('/account'));
}

/**
 * SPEC M5 "PIN change required": after a second step proven with the PIN an administrator set,
 * the new PIN, before the session is signed in. Password proven (second step) and the second
 * step just proven with that PIN in this session; anyone else goes back to /verify.
 */
function newPinRoutes(services: Services): Router {
  const router = Router();
  const path = '/verify/new-pin';
  const waiting = (res: Response) => {
    const account = res.locals.pendingUser;
    return account && res.req.session.pinChangeFor === account.id ? account : undefined;
  };
  const render = (res: Response, status: number, errors: FieldError[]) => {
    res.status(status).render('pages/verify/new-pin', {
      pinMinLength: res.locals.portalSettings?.pinMinLength,
      errors,
    });
  };

  router.get(path, (_req, res) => {
    if (!waiting(res)) {
      res.redirect(res.locals.url('/verify'));
      return;
    }
    render(res, 200, []);
  });

  router.post(path, async (req, res) => {
    const form = readForm(req.body, ['pin', 'pinConfirmation'] as const);
    const account = waiting(res);
    if (!account) {
      res.redirect(303, res.locals.url('/verify'));
      return;
    }
    const chosen = await services.mfa.secondStep.chooseRequiredPin(contextOf(res), {
      userId: account.id,
      ...form,
    });
    if (chosen.outcome === 'invalid') {
      render(res, 400, chosen.errors);
      return;
    }
    await signInAfterSecondStep(res, services, account.id);
  });
  return router;
}

function proofMode(): SecondStepMode {
  return {
    base: '/account/confirm',
    purpose: 'proof',
    accountOf(res) {
      if (!res.locals.user) throw createError(401);
      return res.locals.user;
    },
    async succeed(res) {
      const back = res.req.session.proofReturnTo ?? '/account';
      await provenAgain(res.req);
      res.redirect(303, res.locals.url(back));
    },
  };
}

/** SPEC J1 second step: a code from the app or token, or security questions as a fallback. */
export function verifyRoutes(services: Services): Router {
  const router = Router();
  router.use(newPinRoutes(services));
  router.use(secondStepRoutes(services, signInMode(services)));
  return router;
}

/** SPEC J3: a fresh second-factor proof before a change to a factor. */
export function confirmRoutes(services: Services): Router {
  return secondStepRoutes(services, proofMode());
}

function secondStepRoutes(services: Services, mode: SecondStepMode): Router {
  const { mfa } = services;
  const { base, purpose, accountOf, succeed } = mode;
  const router = Router();
  if (purpose === 'proof') {
    // SPEC L4: the proof pages say how long a proof lasts.
    router.use(base, (_req, res, next) => {
      res.locals.proofMinutes = res.locals.portalSettings?.proofMinutes;
      next();
    });
  }

  /** Loaded with the journey: no page of the second step loads the user again. */
  const optionsOf = (res: Response) => {
    if (!res.locals.secondStep) throw createError(401);
    return res.locals.secondStep;
  };

  function renderLocked(res: Response, until: number) {
    res.status(403).render('pages/verify/locked', {
      minutes: Math.max(1, Math.ceil((until - Date.now()) / 60_000)),
    });
  }

  /** The outcome of a counted check: done, locked, or the page again with `wrong`. */
  async function settle(
    res: Response,
    by: Method | 'questions',
    outcome: SecondStepOutcome,
    wrong: () => void | Promise<void>,
  ) {
    if (outcome.outcome === 'success') await succeed(res, by);
    else if (outcome.outcome === 'locked') renderLocked(res, outcome.until);
    else await wrong();
  }

  function renderCode(
    res: Response,
    status: number,
    method: Method | undefined,
    errors: FieldError[],
  ): void {
    const options = optionsOf(res);
    const chosen = method && options.methods.includes(method) ? method : options.preferred;
    if (!chosen) {
      if (options.questions) {
        res.redirect(res.locals.url(`${base}/questions`));
        return;
      }
      throw createError(403, 'No way to verify', { page: 'notEnrolled' });
    }
    const others = options.methods.filter((m) => m !== chosen);
    if (chosen === 'phone' || chosen === 'sms') {
      res.status(status).render('pages/verify/phone', {
        base,
        purpose,
        method: chosen,
        phone: options.maskedNumbers[chosen] ?? '',
        others,
        questions: options.questions,
        errors,
      });
      return;
    }
    res.status(status).render('pages/verify/code', {
      base,
      purpose,
      method: chosen,
      digits: options.codeDigits[chosen],
      pinRequired: chosen === 'app' && options.appPin,
      others,
      questions: options.questions,
      errors,
    });
  }

  router.get(base, (req, res) => {
    const method = methods.find((m) => m === req.query.method);
    renderCode(res, 200, method, []);
  });

  router.post(base, async (req, res) => {
    const form = readForm(req.body, ['method', 'code', 'pin'] as const);
    const options = optionsOf(res);
    const method = codeMethods.find((m) => m === form.method && options.methods.includes(m));
    if (!method) throw createError(400, 'Unknown method');
    const digits = options.codeDigits[method];
    const pinRequired = method === 'app' && options.appPin;
    const errors = codeError('code', form.code, digits);
    if (pinRequired && form.pin === '')
      errors.push({ field: 'pin', message: 'pin.errors.missing' });
    const code = readCode(form.code, digits);
    if (errors.length > 0 || !code) {
      renderCode(res, 400, method, errors);
      return;
    }
    const outcome = await mfa.secondStep.checkCode(contextOf(res), {
      userId: accountOf(res).id,
      purpose,
      method,
      code,
      pin: form.pin,
    });
    await settle(res, method, outcome, () => {
      renderCode(res, 400, method, [
        {
          field: 'code',
          message: pinRequired ? 'codes.errors.wrongWithPin' : 'codes.errors.wrong',
        },
      ]);
    });
  });

  /** The questions asked until they are answered: the core keeps them, never re-rolled (M6). */
  const askedQuestions = (res: Response) =>
    mfa.secondStep.questionsToAsk(contextOf(res), { userId: accountOf(res).id });

  router.get(`${base}/questions`, async (_req, res) => {
    res.render('pages/verify/questions', {
      base,
      purpose,
      asked: await askedQuestions(res),
      errors: [],
    });
  });

  router.post(`${base}/questions`, async (req, res) => {
    const asked = await askedQuestions(res);
    const form: Record<string, string> = readForm(
      req.body,
      asked.map((_, i) => `answer${i}`),
    );
    const errors: FieldError[] = asked.flatMap((_, i) =>
      (form[`answer${i}`] ?? '').trim() === ''
        ? [
            {
              field: `answer${i}`,
              message: 'verify.questions.errors.answerMissing',
              values: { number: i + 1 },
            },
          ]
        : [],
    );
    if (errors.length > 0) {
      res.status(400).render('pages/verify/questions', { base, purpose, asked, errors });
      return;
    }
    const outcome = await mfa.secondStep.checkAnswers(contextOf(res), {
      userId: accountOf(res).id,
      purpose,
      answers: asked.map((q, i) => ({ questionId: q.id, answer: form[`answer${i}`] ?? '' })),
    });
    await settle(res, 'questions', outcome, () => {
      res.status(400).render('pages/verify/questions', {
        base,
        purpose,
        asked,
        errors: [{ field: 'answer0', message: 'verify.questions.errors.wrong' }],
      });
    });
  });

  phoneVerifyRoutes(router, services, {
    base,
    purpose,
    succeed,
    renderLocked,
    renderCode,
    options: optionsOf,
  });
  return router;
}
