import type { Change } from '../../core/method-policy.ts';
import type { RequestHandler, Response } from 'express';
import createError from 'http-errors';
import type { UserRow } from '../../data/users-repository.ts';
import type { Services } from '../../services.ts';

/** The signed-in user (the journey lets only signed-in users reach My account). */
export function accountUser(res: Response): UserRow {
  const user = res.locals.user && res.locals.userRow;
  if (!user) throw createError(401);
  return user;
}

/**
 * Refuses (403, nothing changed) a change the settings do not allow, whatever the request: the
 * permissions come with the journey (src/core/method-policy.ts).
 */
export function requireChangeAllowed(services: Services, change: Change): RequestHandler {
  return async (_req, res, next) => {
    if (!res.locals.can?.[change]) {
      next(createError(403, `Change not allowed: ${change}`, { page: 'changeNotAllowed' }));
      return;
    }
    res.locals.enrolment = await services.secondFactor.enrolmentOf(accountUser(res));
    next();
  };
}

/**
 * ASVS 5 7.5.1 (SPEC J3): a change to a factor needs a second-factor proof within the last
 * `proofMinutes`. Without one, nothing changes: the user is sent to prove a factor and comes back
 * to the page they were on. A user with no factor yet has nothing to prove with.
 */
export function requireRecentProof(services: Services): RequestHandler {
  return async (req, res, next) => {
    const user = accountUser(res);
    const settings = await services.settings.read();
    const provenAt = req.session.provenAt ?? 0;
    if (Date.now() - provenAt <= settings.proofMinutes * 60_000) {
      next();
      return;
    }
    const enrolment = await services.secondFactor.enrolmentOf(user);
    if (enrolment.methods.length === 0) {
      next();
      return;
    }
    // Back to the page, never to a POST: a form is shown again rather than replayed.
    const path = (req.baseUrl + req.path).slice(res.locals.basePath.length);
    const back = req.method === 'GET' ? path : '/account';
    req.session.proofReturnTo = back.startsWith('/account/') ? back : '/account';
    res.redirect(303, res.locals.url('/account/confirm'));
  };
}
