import { Router } from 'express';
import helmet from 'helmet';
import createError from 'http-errors';
import type { Config } from '../config/index.ts';
import { pathAndQuery } from './request-target.ts';

/**
 * SPEC S3: a CSP that allows no script at all, no framing, no referrer, and HSTS only where TLS
 * is in force.
 */
export function setUpSecurityHeaders(config: Config): Router {
  const router = Router();
  router.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          scriptSrc: ["'none'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
          ...(config.secure ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      strictTransportSecurity: config.secure ? { maxAge: 31_536_000 } : false,
      referrerPolicy: { policy: 'no-referrer' },
      crossOriginEmbedderPolicy: false,
    }),
  );
  return router;
}

/**
 * SSL_REQUIRED (the original portal's key): a page asked for over plain HTTP is sent to the same
 * path on the HTTPS origin of PORTAL_URL. Never to the host the request names: the client chose
 * that, and a redirect to it sends users wherever a crafted link says. Without PORTAL_URL, and
 * for a form (sending it again would not unsend it), the answer is a page saying that the portal
 * is only served over HTTPS.
 */
export function setUpHttpsRequirement(config: Config): Router {
  const router = Router();
  if (!config.SSL_REQUIRED) return router;
  const httpsOrigin = config.PORTAL_URL === '' ? undefined : new URL(config.PORTAL_URL).origin;
  router.use((req, res, next) => {
    if (req.secure) {
      next();
      return;
    }
    if (httpsOrigin && (req.method === 'GET' || req.method === 'HEAD')) {
      res.redirect(301, httpsOrigin + pathAndQuery(req));
      return;
    }
    next(createError(403, 'HTTPS is required', { page: 'httpsRequired', backLink: false }));
  });
  return router;
}

/** Pages carry CSRF tokens and account data: no cache may keep them (SPEC S3). */
export function setUpNoStore(): Router {
  const router = Router();
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  return router;
}
