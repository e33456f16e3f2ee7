import type { RequestHandler } from 'express';
import type { Config } from '../config/index.ts';
import { destroySession, sessionCookieName } from './session.ts';

/**
 * SPEC S2: a signed-in session ends after SESSION_IDLE_MINUTES without a request and after
 * SESSION_ABSOLUTE_HOURS in any case. The user then sees the "session expired" page.
 */
export function setUpSessionTimeouts(config: Config): RequestHandler {
  const idleMs = config.SESSION_IDLE_MINUTES * 60_000;
  const absoluteMs = config.SESSION_ABSOLUTE_HOURS * 3_600_000;
  return async (req, res, next) => {
    const { signedInAt, lastSeenAt } = req.session;
    if (signedInAt === undefined || lastSeenAt === undefined) {
      next();
      return;
    }
    const now = Date.now();
    if (now - lastSeenAt > idleMs || now - signedInAt > absoluteMs) {
      await destroySession(req);
      res.clearCookie(sessionCookieName(config.secure), {
        path: config.secure ? '/' : config.BASE_PATH || '/',
      });
      res.status(401).render('errors/error', { page: 'sessionExpired' });
      return;
    }
    // One write a minute at most (a quarter of the idle time when shorter), so that activity
    // always renews the session before the idle timeout ends it.
    if (now - lastSeenAt > Math.min(60_000, idleMs / 4)) req.session.lastSeenAt = now;
    next();
  };
}
