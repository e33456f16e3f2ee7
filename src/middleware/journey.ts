import type { Request, RequestHandler, Response } from 'express';
import createError from 'http-errors';
import type { Journey } from '../core/mfa-service.ts';
import { contextOf } from '../routes/context.ts';
import type { Services } from '../services.ts';
import { resetSession } from './session.ts';

/**
 * SPEC S10: where a visitor stands in the journey, worked out from the session and the facts on
 * each request, never remembered from an earlier step:
 * - anonymous: no password proven (and no server session, S11);
 * - second-step: password proven, and the user has a way to sign in: they must prove it;
 * - enrolling: password proven, no way to sign in yet, and User Setup is allowed (J2);
 * - signed-in: both steps done; `admin` when the user is an administrator.
 * Proving a factor again before a change (J3) is asked for by the change pages themselves.
 */
export const journeyStages = ['anonymous', 'second-step', 'enrolling', 'signed-in'] as const;
export type JourneyStage = (typeof journeyStages)[number];

/** Who may reach an area: journey stages, or `admin` for a signed-in administrator. */
export type Audience = JourneyStage | 'admin';

const everyone: readonly Audience[] = journeyStages;

/**
 * Each area of the portal (the first segment of its path) and who may reach it; anyone else is
 * sent to where they stand. The route × stage test (test/integration/journey.test.ts) fails when
 * a route of the app is missing here.
 */
export const routeAccess: Readonly<Record<string, readonly Audience[]>> = {
  '': everyone,
  'sign-in': everyone,
  'sign-out': everyone,
  'not-enrolled': everyone,
  healthz: everyone,
  readyz: everyone,
  metrics: everyone,
  simulator: everyone,
  verify: ['second-step'],
  setup: ['enrolling'],
  account: ['signed-in'],
  admin: ['admin'],
};

/** Where each stage belongs: a visitor who strays is sent back there. */
const homeOf: Record<JourneyStage, string> = {
  anonymous: '/sign-in',
  'second-step': '/verify',
  enrolling: '/setup',
  'signed-in': '/account',
};

type Standing = Exclude<Journey, { stage: 'ended' }>;

const isAdmin = (journey: Standing) => journey.stage === 'signed-in' && journey.admin;

function admits(audience: readonly Audience[], journey: Standing): boolean {
  return audience.some((a) => (a === 'admin' ? isAdmin(journey) : a === journey.stage));
}

function refuse(req: Request, res: Response, journey: Standing): void {
  if (journey.stage === 'signed-in' && req.path.startsWith('/admin')) {
    throw createError(403, 'Administrators only', { page: 'notAllowed' });
  }
  res.redirect(req.method === 'GET' ? 302 : 303, res.locals.url(homeOf[journey.stage]));
}

/**
 * Works out the journey stage of every request, ends a session whose stage no longer exists,
 * and keeps each stage to the areas it may reach (SPEC S10). Views get `journeyStage`, the
 * signed-in `user` or the `pendingUser` whose password was just proven.
 */
export function setUpJourney({ mfa }: Services): RequestHandler {
  return async (req, res, next) => {
    const { userId, pendingUserId } = req.session;
    let journey = await mfa.signIn.journey(contextOf(res), { userId, pendingUserId });
    if (journey.stage === 'ended') {
      await resetSession(req);
      res.status(403).render('errors/error', { page: journey.reason });
      return;
    }
    if (journey.stage === 'anonymous' && (userId ?? pendingUserId)) {
      // The account went away or was disabled: nothing of its session may stay.
      await resetSession(req);
      journey = { stage: 'anonymous' };
    }
    res.locals.journeyStage = journey.stage;
    res.locals.signedIn = journey.stage === 'signed-in';
    res.locals.isAdmin = isAdmin(journey);
    if (journey.stage !== 'anonymous') {
      if (journey.stage === 'signed-in') res.locals.user = journey.account;
      else res.locals.pendingUser = journey.account;
      res.locals.portalSettings = journey.settings;
      res.locals.telephony = journey.telephony;
      res.locals.can = journey.can;
      res.locals.secondStep = journey.secondStep;
    }

    // Express matches paths case-insensitively, and so must this.
    const area = (req.path.split('/')[1] ?? '').toLowerCase();
    const audience = routeAccess[area];
    if (audience && !admits(audience, journey)) {
      refuse(req, res, journey);
      return;
    }
    next();
  };
}
