import type { Response, Router } from 'express';
import createError from 'http-errors';
import type { CheckPurpose } from '../../core/second-factor.ts';
import type { SecondStepOptions } from '../../core/service/second-step.ts';
import type { Method } from '../../core/settings.ts';
import type { Services } from '../../services.ts';
import { contextOf } from '../context.ts';
import { readForm, type FieldError } from '../form.ts';
import {
  accountOrRefuse,
  phoneAttemptRoutes,
  showStarted,
  type PhoneJourney,
} from '../phone/attempt-routes.ts';
import { denialMessage } from '../phone/outcomes.ts';

interface VerifySteps {
  base: '/verify' | '/account/confirm';
  purpose: CheckPurpose;
  succeed: (res: Response, by: Method) => Promise<void>;
  renderLocked: (res: Response, until: number) => void;
  renderCode: (
    res: Response,
    status: number,
    method: Method | undefined,
    errors: FieldError[],
  ) => void;
  options: (res: Response) => SecondStepOptions;
}

/** The second step by phone call or text message, and the proof before a change (J1, J3, J4). */
export function phoneVerifyRoutes(router: Router, services: Services, steps: VerifySteps): void {
  const { mfa } = services;
  const { base, purpose } = steps;
  const accountOf = (res: Response) =>
    accountOrRefuse(base === '/verify' ? res.locals.pendingUser : res.locals.user);

  const journey: PhoneJourney = {
    purpose,
    accountOf,
    attemptOf: (req) => {
      const { verificationId } = req.session;
      return verificationId ? { purpose, verificationId } : undefined;
    },
    forget: (req) => {
      delete req.session.verificationId;
    },
    // Calls and texts need the provider, and the user must have set the method up.
    requireMethod: (res, method) => {
      if (!steps.options(res).methods.includes(method)) throw createError(404);
    },
    paths: {
      wait: { phone: `${base}/wait`, sms: `${base}/wait` },
      code: `${base}/sms-code`,
      resend: `${base}/sms/resend`,
      start: (method) => (method ? `${base}?method=${method}` : base),
    },
    // A paused call or text leaves the other ways to verify (SPEC S5).
    pausedBack: { href: base, text: 'callsPaused.otherWay' },
    succeed: (res, proven) => steps.succeed(res, proven.method),
    renderLocked: steps.renderLocked,
    deny: (res, denied) => {
      journey.forget(res.req);
      steps.renderCode(res, 400, denied.method, [
        { field: 'start', message: denialMessage(denied.reason) },
      ]);
    },
  };

  for (const method of ['phone', 'sms'] as const) {
    router.post(`${base}/${method}`, async (req, res) => {
      readForm(req.body, []);
      journey.requireMethod(res, method);
      const input = { userId: accountOf(res).id, purpose };
      const started =
        method === 'phone'
          ? await mfa.phone.startCall(contextOf(res), input)
          : await mfa.phone.startText(contextOf(res), input);
      showStarted(res, journey, method, started, (verificationId) => {
        req.session.verificationId = verificationId;
      });
    });
  }

  phoneAttemptRoutes(router, services, journey);
}
