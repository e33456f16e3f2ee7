import { randomBytes } from 'node:crypto';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { PasswordCheck } from '../../core/accounts.ts';
import { signInRateLimit } from '../../middleware/rate-limit.ts';
import { destroySession, sessionCookieName } from '../../middleware/session.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { nextStepAfterPassword } from './next-step.ts';
import { validateSignIn } from './validation.ts';

const signInDefaults = { username: '', errors: [], notice: '' };

function renderSignIn(
  res: Response,
  status: number,
  view: { username?: string; errors?: FieldError[]; notice?: string },
) {
  res.status(status).render('pages/sign-in', { ...signInDefaults, ...view });
}

/** The sign-in page as HTML, as res.render would send it. */
function renderToString(res: Response, view: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => {
    res.render('pages/sign-in', view, (error: unknown, html: string) => {
      if (error) reject(error instanceof Error ? error : new Error('sign-in page not rendered'));
      else resolve(html);
    });
  });
}

type Authenticator = InstanceType<typeof passport.Passport>;

/** Passport's callback style, turned into the outcome of the local directory check. */
function authenticate(authenticator: Authenticator, req: Request, res: Response) {
  return new Promise<PasswordCheck>((resolve, reject) => {
    const handler = authenticator.authenticate(
      'local',
      { session: false },
      (error: unknown, _user: unknown, info: { check?: PasswordCheck } | undefined) => {
        if (error) reject(error instanceof Error ? error : new Error('authentication failed'));
        else resolve(info?.check ?? { outcome: 'invalid' });
      },
    ) as RequestHandler;
    void handler(req, res, () => undefined);
  });
}

/** SPEC J1 first step: username and password against the local directory. */
export function signInRoutes(services: Services): Router {
  const { accounts, config } = services;
  const authenticator = new passport.Passport();
  authenticator.use(
    new LocalStrategy({ passReqToCallback: true }, (req, username, password, done) => {
      accounts
        .checkPassword(username, password, { clientIp: req.ip, language: req.res?.locals.lng })
        .then((check) => {
          done(null, check.outcome === 'success' ? check.user : false, {
            message: check.outcome,
            check,
          } as { message: string });
        }, done);
    }),
  );

  const router = Router();

  router.get('/', (_req, res) => {
    res.redirect(res.locals.url(res.locals.signedIn ? '/account' : '/sign-in'));
  });

  // The page an anonymous visitor gets differs only by its form token: rendered once per
  // language and notice, with a placeholder where each visitor's token goes. Anything a later
  // change shows anonymous visitors per request must go in the key.
  const tokenHole = randomBytes(16).toString('hex');
  const anonymousPages = new Map<string, string>();
  router.get('/sign-in', async (req, res) => {
    if (res.locals.signedIn) {
      res.redirect(res.locals.url('/account'));
      return;
    }
    const notice = 'signedOut' in req.query ? 'signIn.signedOut' : '';
    if (res.locals.journeyStage !== 'anonymous') {
      renderSignIn(res, 200, { notice });
      return;
    }
    const key = `${res.locals.lng} ${notice}`;
    let page = anonymousPages.get(key);
    if (page === undefined) {
      page = await renderToString(res, { ...signInDefaults, notice, csrfToken: tokenHole });
      anonymousPages.set(key, page);
    }
    res.type('html').send(page.replace(tokenHole, res.locals.csrfToken));
  });

  router.post('/sign-in', signInRateLimit(services), async (req, res) => {
    const form = readForm(req.body, ['username', 'password'] as const);
    const errors = validateSignIn(form);
    if (errors.length > 0) {
      renderSignIn(res, 400, { username: form.username, errors });
      return;
    }
    const check = await authenticate(authenticator, req, res);
    if (check.outcome === 'success') {
      const next = await nextStepAfterPassword(services, req, check.user);
      if (next === 'sign-in switched off') {
        const error = { field: 'username', message: 'signIn.errors.switchedOff' };
        renderSignIn(res, 403, { username: form.username, errors: [error] });
      } else res.redirect(303, res.locals.url(next));
      return;
    }
    // The same for a wrong password, an unknown user and a locked account (SPEC S4).
    renderSignIn(res, 400, {
      username: form.username,
      errors: [{ field: 'username', message: 'signIn.errors.invalidCredentials' }],
    });
  });

  router.get('/not-enrolled', (_req, res) => {
    res.status(403).render('errors/error', { page: 'notEnrolled' });
  });

  router.post('/sign-out', async (req, res) => {
    readForm(req.body, []);
    await destroySession(req);
    res.clearCookie(sessionCookieName(config.secure), {
      path: config.secure ? '/' : config.BASE_PATH || '/',
    });
    res.redirect(303, res.locals.url('/sign-in?signedOut'));
  });

  return router;
}
