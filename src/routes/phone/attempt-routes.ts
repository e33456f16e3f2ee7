import type { Request, Response, Router } from 'express';
import createError from 'http-errors';
import type { Account, FieldError } from '../../core/mfa-service.ts';
import type { PortalSettings } from '../../core/settings.ts';
import type {
  AttemptView,
  Denied,
  PhoneAttempt,
  PhoneMethod,
  PhonePurpose,
  Proven,
  Started,
} from '../../core/service/phone.ts';
import type { Services } from '../../services.ts';
import { contextOf } from '../context.ts';
import { readForm } from '../form.ts';
import { renderPaused, renderUnreachable, requireTelephony } from './outcomes.ts';

/**
 * How one journey uses calls and texts (like `SecondStepMode` for the second step): User Setup,
 * the second step and its proof before a change, and a change of numbers on My account share
 * one waiting page, one page to type a texted code on and one resend (SPEC J4, M2), each at the
 * journey's own addresses and leading on in the journey's own way.
 */
export interface PhoneJourney {
  purpose: PhonePurpose;
  /** The account the journey is for: the signed-in user, or the one whose password was proven. */
  accountOf: (res: Response) => Account;
  /** The call or text the session waits for, as the core knows it. */
  attemptOf: (req: Request) => PhoneAttempt | undefined;
  /** Lets go of a call or text that ended without proving the number. */
  forget: (req: Request) => void;
  /** Refuses (404) the pages of a method the journey does not offer now. */
  requireMethod: (res: Response, method: PhoneMethod) => void;
  paths: {
    /** The waiting page of each method; one page may serve both. */
    wait: Record<PhoneMethod, string>;
    /** The page to type a one-way text's code on, and the form that sends a new one. */
    code: string;
    resend: string;
    /** Where to start again: the method's form or choice (the journey's start, if unknown). */
    start: (method?: PhoneMethod) => string;
  };
  /** The way on from a call or text kept back by a limit (SPEC S5). */
  pausedBack: { href: string; text: string };
  /** The number proved itself: what the journey does next. */
  succeed: (res: Response, proven: Proven) => Promise<void>;
  /** The call or text did not prove it: the journey's page with the reason. */
  deny: (res: Response, denied: Denied) => void | Promise<void>;
  /** The account is locked: nothing is called, texted or checked (SPEC M8). */
  renderLocked: (res: Response, until: number) => void;
}

/** The journey's account, or 401 when the session has none (the journey lets none through). */
export function accountOrRefuse(account: Account | undefined): Account {
  if (!account) throw createError(401);
  return account;
}

/** The portal settings of this request (the journey loaded them), or read now. */
export async function settingsOf(res: Response, services: Services): Promise<PortalSettings> {
  return res.locals.portalSettings ?? services.mfa.signIn.settings(contextOf(res));
}

/** Where a call or text just asked for leads: waiting or typing the code, or why not. */
export function showStarted(
  res: Response,
  journey: PhoneJourney,
  method: PhoneMethod,
  started: Started,
  keep: (verificationId: string) => void,
): void {
  if (started.outcome === 'paused') {
    journey.forget(res.req);
    renderPaused(res, started, journey.pausedBack);
    return;
  }
  if (started.outcome === 'locked') {
    journey.forget(res.req);
    journey.renderLocked(res, started.until);
    return;
  }
  if (started.outcome === 'unreachable') {
    journey.forget(res.req);
    renderUnreachable(res, started.method, journey.pausedBack);
    return;
  }
  keep(started.verificationId);
  const next = started.next === 'code' ? journey.paths.code : journey.paths.wait[method];
  res.redirect(303, res.locals.url(next));
}

/** The waiting page, the code page and the resend of one journey (SPEC J4, M1, M2). */
export function phoneAttemptRoutes(router: Router, services: Services, journey: PhoneJourney) {
  const { mfa } = services;
  const { paths } = journey;
  const userIdOf = (res: Response) => journey.accountOf(res).id;

  async function renderCode(
    res: Response,
    view: AttemptView,
    status: number,
    errors: FieldError[],
    notice = '',
  ) {
    const settings = await settingsOf(res, services);
    res.status(status).render('pages/phone/sms-code', {
      errors,
      notice,
      phone: view.phone,
      minutes: Math.round(settings.smsCodeLifetimeSeconds / 60),
      pinRequired: view.pinRequired,
      action: paths.code,
      resendAction: paths.resend,
    });
  }

  /** The text whose code is typed on the code page, or undefined when there is none. */
  async function textOf(res: Response) {
    requireTelephony(res);
    journey.requireMethod(res, 'sms');
    const attempt = journey.attemptOf(res.req);
    const view =
      attempt &&
      (await mfa.phone.attempt(contextOf(res), {
        userId: userIdOf(res),
        method: 'sms',
        ...attempt,
      }));
    return attempt && view ? { attempt, view } : undefined;
  }

  const waitPages = new Map<string, PhoneMethod[]>();
  for (const method of ['phone', 'sms'] as const) {
    const path = paths.wait[method];
    waitPages.set(path, [...(waitPages.get(path) ?? []), method]);
  }
  for (const [path, pathMethods] of waitPages) {
    // A page of one method knows its method; a page of both learns it from the call or text.
    const method = pathMethods.length === 1 ? pathMethods[0] : undefined;

    /** J4: waits for the call or reply, with "Check now", refreshing only when asked to. */
    router.get(path, async (req, res) => {
      requireTelephony(res);
      if (method) journey.requireMethod(res, method);
      await showWaiting(res, path, method);
    });
  }

  /** Where the call or text stands: waiting, or the way on once the provider settled it. */
  async function showWaiting(res: Response, path: string, method: PhoneMethod | undefined) {
    const { req } = res;
    const attempt = journey.attemptOf(req);
    const waiting = attempt
      ? await mfa.phone.wait(contextOf(res), {
          userId: userIdOf(res),
          ...(method ? { method } : {}),
          ...attempt,
        })
      : ({ outcome: 'gone' } as const);
    switch (waiting.outcome) {
      case 'gone':
        res.redirect(res.locals.url(paths.start(method)));
        return;
      case 'pending':
        res.render('pages/phone/wait', {
          // WCAG 2.2.1: the page refreshes itself only when the user asks it to.
          auto: req.query.auto === 'on',
          method: waiting.method,
          phone: waiting.phone,
          action: res.locals.url(path),
          back: res.locals.url(paths.start(waiting.method)),
        });
        return;
      case 'proven':
        await journey.succeed(res, waiting);
        return;
      case 'locked':
        journey.forget(req);
        journey.renderLocked(res, waiting.until);
        return;
      case 'denied':
        await journey.deny(res, waiting);
    }
  }

  router.get(paths.code, async (req, res) => {
    const text = await textOf(res);
    if (!text) {
      res.redirect(res.locals.url(paths.start('sms')));
      return;
    }
    // A text that could not be delivered: the user is told, rather than left waiting (M2).
    if (text.view.settled) {
      await showWaiting(res, paths.code, 'sms');
      return;
    }
    await renderCode(res, text.view, 200, [], 'resent' in req.query ? 'codes.resent' : '');
  });

  router.post(paths.resend, async (req, res) => {
    readForm(req.body, []);
    requireTelephony(res);
    journey.requireMethod(res, 'sms');
    const attempt = journey.attemptOf(req);
    const resent = attempt
      ? await mfa.phone.resendText(contextOf(res), { userId: userIdOf(res), ...attempt })
      : ({ outcome: 'gone' } as const);
    if (resent.outcome === 'paused') renderPaused(res, resent, journey.pausedBack);
    else if (resent.outcome === 'locked') journey.renderLocked(res, resent.until);
    else if (resent.outcome === 'unreachable') {
      journey.forget(req);
      renderUnreachable(res, 'sms', journey.pausedBack);
    } else res.redirect(303, res.locals.url(`${paths.code}?resent`));
  });

  router.post(paths.code, async (req, res) => {
    const text = await textOf(res);
    if (!text) {
      res.redirect(303, res.locals.url(paths.start('sms')));
      return;
    }
    const { attempt, view } = text;
    if (view.settled) {
      await showWaiting(res, paths.code, 'sms');
      return;
    }
    const fields: ('code' | 'pin')[] = view.pinRequired ? ['code', 'pin'] : ['code'];
    const form: Partial<Record<'code' | 'pin', string>> = readForm(req.body, fields);
    const checked = await mfa.phone.checkTextCode(contextOf(res), {
      userId: userIdOf(res),
      code: form.code ?? '',
      pin: form.pin ?? '',
      ...attempt,
    });
    switch (checked.outcome) {
      case 'proven':
        await journey.succeed(res, checked);
        return;
      case 'locked':
        journey.renderLocked(res, checked.until);
        return;
      case 'gone':
        res.redirect(303, res.locals.url(paths.start('sms')));
        return;
      case 'invalid':
        await renderCode(res, view, 400, checked.errors);
    }
  });
}
