import { Router } from 'express';
import helmet from 'helmet';
import type { Config } from '../config/index.ts';

/**
 * SPEC S3: a CSP that allows no script at all, no framing, no referrer, HSTS only where TLS is
 * in force, and SSL_REQUIRED sends plain-HTTP visitors to HTTPS as the original portal did.
 */
export function setUpSecurityHeaders(config: Config): Router {
  const router = Router();
  if (config.SSL_REQUIRED) {
    router.use((req, res, next) => {
      if (req.secure) {
        next();
        return;
      }
      if (req.method === 'GET' || req.method === 'HEAD') {
        res.redirect(301, `https://${req.hostname}${req.originalUrl}`);
        return;
      }
      res.status(403).type('text/plain').send('HTTPS is required.');
    });
  }
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

/** Pages carry CSRF tokens and account data: no cache may keep them (SPEC S3). */
export function setUpNoStore(): Router {
  const router = Router();
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  return router;
}
