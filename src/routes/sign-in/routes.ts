import { randomBytes } from 'node:crypto';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { SignInStep } from '../../core/mfa-service.ts';
import { signInRateLimit } from '../../middleware/rate-limit.ts';
import {
  destroySession,
  sessionCookieName,
  startPendingSession,
  startSignedInSession,
} from '../../middleware/session.ts';
import { iisServerVariable } from '../../middleware/iisnode.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { validateSignIn } from './validation.ts';
import { contextOf } from '../context.ts';

const signInDefaults = { username: '', errors: [], notice: '', windowsSignIn: false };

function renderSignIn(
  res: Response,
  status: number,
  view: { username?: string; errors?: FieldError[]; notice?: string },
) {
  res.status(status).render('pages/sign-in', {
    ...signInDefaults,
    windowsSignIn: res.locals.windowsSignIn === true,
    ...view,
  });
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

/** Passport's callback style, turned into the step the sign-in goes to. */
function authenticate(authenticator: Authenticator, req: Request, res: Response) {
  return new Promise<SignInStep>((resolve, reject) => {
    const handler = authenticator.authenticate(
      'local',
      { session: false },
      (error: unknown, _user: unknown, info: { step?: SignInStep } | undefined) => {
        if (error) reject(error instanceof Error ? error : new Error('authentication failed'));
        else resolve(info?.step ?? { next: 'refused' });
      },
    ) as RequestHandler;
    void handler(req, res, () => undefined);
  });
}

/** SPEC J1 first step: username and password against the primary authentication. */
export function signInRoutes(services: Services): Router {
  const { mfa, config } = services;
  const authenticator = new passport.Passport();
  authenticator.use(
    new LocalStrategy({ passReqToCallback: true }, (req, username, password, done) => {
      mfa.signIn.signIn(contextOf(req.res as Response), { username, password }).then((step) => {
        done(null, 'userId' in step ? step.userId : false, {
          message: step.next,
          step,
        } as { message: string });
      }, done);
    }),
  );

  // SPEC D3: only under iisnode, where IIS says who the user is; anywhere else a header
  // claiming it is a client's own and the route does not exist.
  const windowsSignIn = config.PRIMARY_AUTHENTICATION === 'windows' && config.underIisnode;

  /** Where a sign-in goes once the first step is done (SPEC J1, J2, S11). */
  async function goOn(req: Request, res: Response, step: SignInStep, username: string) {
    const absoluteMs = config.SESSION_ABSOLUTE_HOURS * 3_600_000;
    // A server session starts only on the way in (SPEC S11).
    switch (step.next) {
      case 'signed-in':
        await startSignedInSession(req, step.userId, absoluteMs);
        res.redirect(303, res.locals.url('/account'));
        return;
      case 'second-step':
      case 'enrol':
        await startPendingSession(req, step.userId);
        res.redirect(303, res.locals.url(step.next === 'enrol' ? '/setup' : '/verify'));
        return;
      case 'not-enrolled':
        res.redirect(303, res.locals.url('/not-enrolled'));
        return;
      case 'switched-off':
        renderSignIn(res, 403, {
          username,
          errors: [{ field: 'username', message: 'signIn.errors.switchedOff' }],
        });
        return;
      case 'refused':
        // The same for a wrong password, an unknown user and a locked account (SPEC S4).
        renderSignIn(res, 400, {
          username,
          errors: [{ field: 'username', message: 'signIn.errors.invalidCredentials' }],
        });
    }
  }

  const router = Router();
  router.use((_req, res, next) => {
    res.locals.windowsSignIn = windowsSignIn;
    next();
  });

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
      page = await renderToString(res, {
        ...signInDefaults,
        windowsSignIn,
        notice,
        csrfToken: tokenHole,
      });
      anonymousPages.set(key, page);
    }
    res.type('html').send(page.replaceAll(tokenHole, res.locals.csrfToken));
  });

  router.post('/sign-in', signInRateLimit(services), async (req, res) => {
    const form = readForm(req.body, ['username', 'password'] as const);
    const errors = validateSignIn(form);
    if (errors.length > 0) {
      renderSignIn(res, 400, { username: form.username, errors });
      return;
    }
    const step = await authenticate(authenticator, req, res);
    await goOn(req, res, step, form.username);
  });

  // Anonymous (IIS authenticated the user; the portal has not yet). Windows primary
  // authentication under iisnode only (SPEC D3); obeys what the password step obeys.
  router.post('/sign-in/windows', signInRateLimit(services), async (req, res, next) => {
    readForm(req.body, []);
    if (!windowsSignIn) {
      next();
      return;
    }
    // Two values (one a client's forgery) are refused with 400 by iisServerVariable.
    const identity = iisServerVariable(req, 'AUTH_USER') ?? '';
    const step =
      identity === ''
        ? ({ next: 'refused' } as const)
        : await mfa.signIn.signInWindows(contextOf(res), { identity });
    if (step.next === 'refused') {
      renderSignIn(res, 403, {
        errors: [{ field: 'username', message: 'signIn.errors.windowsRefused' }],
      });
      return;
    }
    await goOn(req, res, step, identity);
  });

  router.get('/not-enrolled', (_req, res) => {
    res.status(403).render('errors/error', { page: 'notEnrolled' });
  });

  router.post('/sign-out', async (req, res) => {
    readForm(req.body, []);
    const { pendingUserId, enrolmentDraftId } = req.session;
    // "Cancel sign-in" in User Setup ends the setup in progress too (SPEC J2).
    if (pendingUserId !== undefined && enrolmentDraftId !== undefined) {
      await services.mfa.enrolment.cancel(contextOf(res), {
        userId: pendingUserId,
        draftId: enrolmentDraftId,
      });
    }
    await destroySession(req);
    res.clearCookie(sessionCookieName(config.secure), {
      path: config.secure ? '/' : config.BASE_PATH || '/',
    });
    res.redirect(303, res.locals.url('/sign-in?signedOut'));
  });

  return router;
}
