import type { Request, RequestHandler, Response } from 'express';
import createError from 'http-errors';
import type { UserRow } from '../data/users-repository.ts';
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
  simulator: everyone,
  verify: ['second-step'],
  setup: ['enrolling'],
  account: ['signed-in'],
  admin: ['admin'],
};

export interface Journey {
  stage: JourneyStage;
  user: UserRow | undefined;
  admin: boolean;
}

/** Where each stage belongs: a visitor who strays is sent back there. */
const homeOf: Record<JourneyStage, string> = {
  anonymous: '/sign-in',
  'second-step': '/verify',
  enrolling: '/setup',
  'signed-in': '/account',
};

const anonymous: Journey = { stage: 'anonymous', user: undefined, admin: false };

type Refusal = 'notEnrolled' | 'signInOff';

/** The visitor's stage, or why their session must end (a setting changed under them). */
async function journeyOf(
  req: Request,
  { users, settings, secondFactor }: Services,
): Promise<Journey | Refusal> {
  const { userId, pendingUserId } = req.session;
  const id = userId ?? pendingUserId;
  if (id === undefined) return anonymous;
  const user = await users.findById(id);
  if (!user || user.disabled) return anonymous;
  const admin = user.role === 'admin';
  const policy = await settings.read();
  // "Allow users to log in" off: only administrators still sign in (SPEC §5, as the original).
  if (!policy.allowUserLogin && !admin) return 'signInOff';
  if (userId !== undefined) return { stage: 'signed-in', user, admin };
  if ((await secondFactor.enrolmentOf(user)).methods.length > 0) {
    return { stage: 'second-step', user, admin };
  }
  if (!policy.allowEnrollment) return 'notEnrolled';
  // A locked account enrols nothing: it waits, like every other way in (SPEC M8).
  if (user.locked_until !== null && user.locked_until > Date.now()) return anonymous;
  return { stage: 'enrolling', user, admin };
}

function admits(audience: readonly Audience[], journey: Journey): boolean {
  return audience.some((a) =>
    a === 'admin' ? journey.stage === 'signed-in' && journey.admin : a === journey.stage,
  );
}

function refuse(req: Request, res: Response, journey: Journey): void {
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
export function setUpJourney(services: Services): RequestHandler {
  return async (req, res, next) => {
    let journey = await journeyOf(req, services);
    if (typeof journey === 'string') {
      const page = journey;
      await resetSession(req);
      res.status(403).render('errors/error', { page });
      return;
    }
    if (journey.stage === 'anonymous' && (req.session.userId ?? req.session.pendingUserId)) {
      // The account went away or was disabled: nothing of its session may stay.
      await resetSession(req);
      journey = anonymous;
    }
    res.locals.journeyStage = journey.stage;
    res.locals.signedIn = journey.stage === 'signed-in';
    res.locals.isAdmin = res.locals.signedIn && journey.admin;
    if (journey.stage === 'signed-in') res.locals.user = journey.user;
    else if (journey.user) res.locals.pendingUser = journey.user;

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
