import type { RequestHandler } from 'express';
import type { Config } from '../config/index.ts';
import { destroySession, sessionCookieName } from './session.ts';

/**
 * How long a session that proved only the password lasts, however active: the second step and
 * User Setup take minutes, and requests must not keep such a session alive for ever (SPEC S2).
 * Fixed, and shorter than any SESSION_ABSOLUTE_HOURS.
 */
export const pendingSessionMs = 15 * 60_000;

/**
 * SPEC S2: a signed-in session ends after SESSION_IDLE_MINUTES without a request and after
 * SESSION_ABSOLUTE_HOURS in any case; a session in the second step or User Setup ends
 * `pendingSessionMs` after the password. The user then sees the "session expired" page.
 */
export function setUpSessionTimeouts(config: Config): RequestHandler {
  const idleMs = config.SESSION_IDLE_MINUTES * 60_000;
  const absoluteMs = config.SESSION_ABSOLUTE_HOURS * 3_600_000;

  return async (req, res, next) => {
    const { userId, pendingUserId, passwordProvenAt, signedInAt, lastSeenAt } = req.session;
    const now = Date.now();
    let ended = false;
    if (userId === undefined && pendingUserId !== undefined) {
      ended = passwordProvenAt === undefined || now - passwordProvenAt > pendingSessionMs;
    } else if (signedInAt !== undefined && lastSeenAt !== undefined) {
      ended = now - lastSeenAt > idleMs || now - signedInAt > absoluteMs;
      // One write a minute at most (a quarter of the idle time when shorter), so that activity
      // always renews the session before the idle timeout ends it.
      if (!ended && now - lastSeenAt > Math.min(60_000, idleMs / 4)) req.session.lastSeenAt = now;
    }
    if (ended) {
      await destroySession(req);
      res.clearCookie(sessionCookieName(config.secure), {
        path: config.secure ? '/' : config.BASE_PATH || '/',
      });
      res.status(401).render('errors/error', { page: 'sessionExpired' });
      return;
    }
    next();
  };
}
