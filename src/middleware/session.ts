import type { Request, RequestHandler } from 'express';
import session from 'express-session';
import createError from 'http-errors';
import { issueCsrfToken } from './csrf.ts';
import type { Services } from '../services.ts';

export function sessionCookieName(secure: boolean): string {
  // __Host- binds the cookie to this exact origin; browsers accept it only with Secure and Path=/.
  return secure ? '__Host-mfa.sid' : 'mfa.sid';
}

/**
 * Sessions in the store the services chose (Redis or the app's database; never memory).
 * Anonymous sessions (they only hold a CSRF token) live for the idle timeout; signed-in sessions
 * get the absolute timeout on their cookie and the idle timeout is checked on each request.
 */
export function setUpSession({
  config,
  redis,
  sessionStore: store,
  sessionSecret,
}: Services): RequestHandler {
  const idleMs = config.SESSION_IDLE_MINUTES * 60_000;

  const name = sessionCookieName(config.secure);
  const withSession = session({
    name,
    secret: sessionSecret,
    store,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    proxy: config.trustProxyValue !== false,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.secure,
      path: config.secure ? '/' : config.BASE_PATH || '/',
      maxAge: idleMs,
    },
  });
  return (req, res, next) => {
    // Without Redis no page can be served as it should: the sign-in form would lead nowhere, and
    // a form must not change anything it cannot finish (SPEC O5).
    if (redis && !redis.isReady) {
      next(createError(503, 'Redis is not reachable'));
      return;
    }
    // A page read without a session cookie has no session to find, and must not start one
    // (S11): it gets an empty, frozen one, so that a stray write fails loudly.
    const cookie = req.headers.cookie?.includes(`${name}=`) === true;
    if (!cookie && (req.method === 'GET' || req.method === 'HEAD')) {
      req.session = noSession;
      next();
      return;
    }
    // Without a cookie, the session express-session makes is new: nothing of it is stored.
    if (!cookie) unstored.add(req);
    withSession(req, res, next);
  };
}

const noSession = Object.freeze({}) as Request['session'];

/** Requests whose session was made for them and has not been written to the store yet. */
const unstored = new WeakSet<Request>();

/** A store that can write a regenerated session in one statement (src/data/session-store.ts). */
interface RegeneratingStore {
  regenerateOnSave(req: Request, callback: (error?: unknown) => void): void;
}

const regeneratesOnSave = (store: object): store is RegeneratingStore =>
  typeof (store as Partial<RegeneratingStore>).regenerateOnSave === 'function';

function sessionCall(req: Request, method: 'regenerate' | 'destroy'): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session[method]((error: unknown) => {
      if (error) reject(error instanceof Error ? error : new Error(`session ${method} failed`));
      else resolve();
    });
  });
}

/**
 * SPEC S2: a new session id, whose data the caller sets, and nothing left under the old one.
 * A session made for this request has nothing stored to remove; a stored one is replaced when
 * the new one is written, where the store can do so in one statement.
 */
async function regenerateForData(req: Request): Promise<void> {
  if (unstored.has(req)) {
    req.sessionStore.generate(req);
    return;
  }
  const store = req.sessionStore;
  if (!regeneratesOnSave(store)) {
    await sessionCall(req, 'regenerate');
    return;
  }
  await new Promise<void>((resolve, reject) => {
    store.regenerateOnSave(req, (error: unknown) => {
      if (error) reject(error instanceof Error ? error : new Error('session regenerate failed'));
      else resolve();
    });
  });
}

/** SPEC S2: a new session id at every privilege change, so a planted id gains nothing. */
export async function startSignedInSession(req: Request, userId: string, absoluteMs: number) {
  await regenerateForData(req);
  const now = Date.now();
  req.session.userId = userId;
  req.session.signedInAt = now;
  req.session.lastSeenAt = now;
  req.session.cookie.maxAge = absoluteMs;
  // express-session writes it once, before the response ends.
  issueCsrfToken(req);
}

/**
 * The user proved a factor again (SPEC J3): a new session id, as at any privilege change, that
 * keeps the sign-in's timeouts and records the moment of the proof.
 */
export async function provenAgain(req: Request) {
  const { userId, signedInAt, lastSeenAt } = req.session;
  const maxAge = req.session.cookie.maxAge;
  await regenerateForData(req);
  if (userId !== undefined) req.session.userId = userId;
  if (signedInAt !== undefined) req.session.signedInAt = signedInAt;
  if (lastSeenAt !== undefined) req.session.lastSeenAt = lastSeenAt;
  if (maxAge !== undefined) req.session.cookie.maxAge = maxAge;
  req.session.provenAt = Date.now();
  issueCsrfToken(req);
}

/** After the password: a new session that knows the user but grants nothing yet. */
export async function startPendingSession(req: Request, userId: string) {
  await regenerateForData(req);
  req.session.pendingUserId = userId;
  req.session.passwordProvenAt = Date.now();
  issueCsrfToken(req);
}

/** Ends what the session held and goes on with an empty one, which is not stored (S11). */
export function resetSession(req: Request): Promise<void> {
  return sessionCall(req, 'regenerate');
}

export function destroySession(req: Request): Promise<void> {
  return sessionCall(req, 'destroy');
}
