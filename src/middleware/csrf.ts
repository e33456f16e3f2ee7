import { Router } from 'express';
import { csrfSync } from 'csrf-sync';

const { csrfSynchronisedProtection, generateToken } = csrfSync({
  getTokenFromRequest: (req) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null) return undefined;
    const token = (body as Record<string, unknown>)._csrf;
    return typeof token === 'string' ? token : undefined;
  },
});

/**
 * Gives a new session its token while it is first written, so the page after a sign-in step
 * does not have to write the session again just to add one.
 */
export function issueCsrfToken(req: Parameters<typeof generateToken>[0]): void {
  generateToken(req);
}

/**
 * SPEC S1: one synchroniser token per session, checked on every state-changing request and
 * exposed to views as `csrfToken`. A mismatch becomes a 403 the error handler renders.
 */
export function setUpCsrf(): Router {
  const router = Router();
  router.use(csrfSynchronisedProtection);
  router.use((req, res, next) => {
    // Lazy, so that only a page that shows a form starts a session for its token.
    Object.defineProperty(res.locals, 'csrfToken', { get: () => generateToken(req) });
    next();
  });
  return router;
}
