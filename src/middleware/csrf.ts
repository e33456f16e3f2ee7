import { hkdfSync } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { doubleCsrf } from 'csrf-csrf';
import { csrfSync } from 'csrf-sync';
import type { Config } from '../config/index.ts';

function tokenFromBody(req: Request): string | undefined {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return undefined;
  const token = (body as Record<string, unknown>)._csrf;
  return typeof token === 'string' ? token : undefined;
}

const { csrfSynchronisedProtection, generateToken } = csrfSync({
  getTokenFromRequest: tokenFromBody,
});

/**
 * Gives a new session its token while it is first written, so the page after a sign-in step
 * does not have to write the session again just to add one.
 */
export function issueCsrfToken(req: Parameters<typeof generateToken>[0]): void {
  generateToken(req);
}

/** A session exists on the server only once a password is proven (SPEC S11). */
export function hasServerSession(req: Request): boolean {
  return req.session.userId !== undefined || req.session.pendingUserId !== undefined;
}

export function csrfCookieName(secure: boolean): string {
  return secure ? '__Host-mfa.csrf' : 'mfa.csrf';
}

/** One cookie's value: all csrf-csrf reads (its token is hex, so never encoded). */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...value] = part.split('=');
    if (key?.trim() === name) return value.join('=').trim();
  }
  return undefined;
}

/**
 * SPEC S1 and S11: every state-changing request carries a token, exposed to views as
 * `csrfToken`; a mismatch becomes a 403 the error handler renders. With a server session (a
 * password is proven) it is csrf-sync's synchroniser token, one per session. Before that there
 * is no session to keep it in, so the anonymous forms (sign-in) use a signed double-submit token
 * (csrf-csrf): an HMAC-signed random value in a cookie that the form must repeat. It leaves no
 * state on the server, and a cross-site page can neither read nor set the cookie.
 */
export function setUpCsrf(config: Config, sessionSecret: string): RequestHandler {
  const secret = Buffer.from(
    hkdfSync('sha256', sessionSecret, '', 'mfa-portal anonymous csrf', 32),
  ).toString('hex');
  const cookieName = csrfCookieName(config.secure);
  const { doubleCsrfProtection, generateCsrfToken } = doubleCsrf({
    getSecret: () => secret,
    // Nothing identifies an anonymous visitor: the token is bound to its cookie alone.
    getSessionIdentifier: () => '',
    cookieName,
    cookieOptions: {
      sameSite: 'strict',
      secure: config.secure,
      httpOnly: true,
      path: config.secure ? '/' : config.BASE_PATH || '/',
    },
    getCsrfTokenFromRequest: tokenFromBody,
  });

  return (req, res, next) => {
    const server = hasServerSession(req);
    let token: string | undefined;
    // Lazy, so that a page without a form costs nothing; once, so that two forms share it.
    Object.defineProperty(res.locals, 'csrfToken', {
      get: () => (token ??= server ? generateToken(req) : generateCsrfToken(req, res)),
    });
    if (server) {
      csrfSynchronisedProtection(req, res, next);
      return;
    }
    const cookie = cookieValue(req.headers.cookie, cookieName);
    req.cookies = cookie === undefined ? {} : { [cookieName]: cookie };
    doubleCsrfProtection(req, res, next);
  };
}
