import type { Change } from '../../core/method-policy.ts';
import type { Account } from '../../core/mfa-service.ts';
import type { RequestHandler, Response } from 'express';
import createError from 'http-errors';
import type { Services } from '../../services.ts';

/** The signed-in user's account (the journey lets only signed-in users reach My account). */
export function signedInAccount(res: Response): Account {
  const user = res.locals.user;
  if (!user) throw createError(401);
  return user;
}

/**
 * Refuses (403, nothing changed) a change the settings do not allow, whatever the request: the
 * permissions come with the journey (src/core/method-policy.ts), and the core checks them again.
 */
export function requireChangeAllowed(_services: Services, change: Change): RequestHandler {
  return (_req, res, next) => {
    if (!res.locals.can?.[change]) {
      next(createError(403, `Change not allowed: ${change}`, { page: 'changeNotAllowed' }));
      return;
    }
    next();
  };
}

/**
 * ASVS 5 7.5.1 (SPEC J3): a change to a factor needs a second-factor proof within the last
 * `proofMinutes`. Without one, nothing changes: the user is sent to prove a factor and comes back
 * to the page they were on. A user with no factor yet has nothing to prove with.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- the phone pages still pass services
export function requireRecentProof(_services?: Services): RequestHandler {
  return (req, res, next) => {
    const settings = res.locals.portalSettings;
    const provenAt = req.session.provenAt ?? 0;
    if (settings && Date.now() - provenAt <= settings.proofMinutes * 60_000) {
      next();
      return;
    }
    if (signedInAccount(res).methods.length === 0) {
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
