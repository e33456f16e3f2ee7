import { join } from 'node:path';
import express, { type Express } from 'express';
import { setUpBodyParsing } from './middleware/body-parsing.ts';
import { setUpClientAddress } from './middleware/client-address.ts';
import { setUpCsrf } from './middleware/csrf.ts';
import { errorHandler, notFound } from './middleware/errors.ts';
import { setUpHealthChecks } from './middleware/health.ts';
import { setUpImportUploads } from './middleware/import-uploads.ts';
import { setUpI18n } from './middleware/i18n.ts';
import { setUpIisnode } from './middleware/iisnode.ts';
import { setUpJourney } from './middleware/journey.ts';
import { metricsRoutes, setUpRequestMetrics } from './middleware/metrics.ts';
import { setUpLanguagePreference } from './middleware/language-preference.ts';
import { setUpRequestLogging } from './middleware/request-logging.ts';
import { setUpRequestTarget } from './middleware/request-target.ts';
import {
  setUpHttpsRequirement,
  setUpNoStore,
  setUpSecurityHeaders,
} from './middleware/security.ts';
import { setUpSession } from './middleware/session.ts';
import { pendingSessionMs, setUpSessionTimeouts } from './middleware/session-timeouts.ts';
import { setUpViews } from './middleware/views.ts';
import { codesRateLimit } from './middleware/rate-limit.ts';
import { accountRoutes } from './routes/account/routes.ts';
import { adminRoutes } from './routes/admin/routes.ts';
import { setupRoutes } from './routes/setup/routes.ts';
import { signInRoutes } from './routes/sign-in/routes.ts';
import { simulatorRoutes } from './routes/simulator/routes.ts';
import { telephonyWebhooks } from './routes/telephony/routes.ts';
import { verifyRoutes } from './routes/verify/routes.ts';
import type { Services } from './services.ts';

/** The portal: an ordered list of middleware, mounted under BASE_PATH. It never listens. */
export function createApp(services: Services): Express {
  const { config, i18n, logger } = services;
  const portal = express.Router();
  portal.use(setUpHealthChecks(services));
  portal.use(metricsRoutes(services.metrics, config.METRICS_TOKEN));
  // The providers' reports: before sessions and CSRF, each proving its origin (see there).
  portal.use(telephonyWebhooks(services));
  // Under a prefix, so that page requests never look for a file on disk first.
  portal.use(
    '/assets',
    express.static(join(config.rootDir, 'public'), {
      index: false,
      maxAge: '1h',
      fallthrough: false,
    }),
  );
  portal.use(setUpI18n(i18n, config.BASE_PATH));
  portal.use(setUpNoStore());
  portal.use(setUpSession(services));
  portal.use(setUpSessionTimeouts(config));
  portal.use(setUpBodyParsing());
  portal.use(setUpImportUploads('/admin/import', services));
  portal.use(setUpCsrf(config, services.sessionSecret));
  portal.use(setUpJourney(services));
  portal.use(setUpLanguagePreference(services));
  portal.use(codesRateLimit(services));
  portal.use(signInRoutes(services));
  portal.use(setupRoutes(services));
  portal.use(verifyRoutes(services));
  portal.use(accountRoutes(services));
  portal.use(adminRoutes(services));
  portal.use(simulatorRoutes(services));
  portal.use(notFound());

  const app = express();
  app.disable('x-powered-by');
  // Pages are never cached (Cache-Control: no-store), so an ETag would only cost a hash of each
  // page's bytes (SPEC P2); the stylesheet under /assets keeps the one express.static sends.
  app.set('etag', false);
  app.set('trust proxy', config.trustProxyValue);
  setUpViews(app, join(config.rootDir, 'views'));
  // SPEC L4: signed-in pages say how long the session lasts without activity.
  app.locals.sessionIdleMinutes = config.SESSION_IDLE_MINUTES;
  // …and the second step and User Setup how long they have after the password.
  app.locals.pendingSessionMinutes = pendingSessionMs / 60_000;
  app.use(setUpRequestLogging(logger));
  app.use(setUpRequestMetrics(services.metrics, config.BASE_PATH));
  app.use(setUpIisnode(config.underIisnode));
  app.use(setUpClientAddress());
  app.use(setUpSecurityHeaders(config));
  app.use(setUpRequestTarget(config.BASE_PATH));
  app.use(setUpHttpsRequirement(config));
  app.use(config.BASE_PATH || '/', portal);
  app.use(notFound());
  app.use(errorHandler(i18n, logger, config.BASE_PATH));
  return app;
}
