import type { Request } from 'express';
import { Router } from 'express';
import createError from 'http-errors';

/**
 * Reads an IIS server variable that iisnode promoted into an `X-iisnode-<name>` header. A client
 * can send the same header itself; IIS then appends its own value after the forged one, so a
 * request carrying two values is refused rather than guessed at (SPEC D3).
 */
export function iisServerVariable(req: Request, name: string): string | undefined {
  const value = req.headers[`x-iisnode-${name.toLowerCase()}`];
  if (value === undefined) return undefined;
  if (Array.isArray(value) || value.includes(',')) {
    throw createError(400, `Conflicting X-iisnode-${name} headers`);
  }
  return value.trim();
}

/**
 * Under iisnode, TLS ends in IIS: the request's scheme is what IIS reports in the HTTPS server
 * variable, never a client's X-Forwarded-Proto.
 */
export function setUpIisnode(underIisnode: boolean): Router {
  const router = Router();
  if (!underIisnode) return router;
  router.use((req, _res, next) => {
    req.headers['x-forwarded-proto'] = iisServerVariable(req, 'HTTPS') === 'on' ? 'https' : 'http';
    next();
  });
  return router;
}
