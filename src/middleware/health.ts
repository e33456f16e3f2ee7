import { Router } from 'express';
import type { Services } from '../services.ts';

/**
 * SPEC O1: liveness and readiness, answered before sessions so probes create none. Readiness
 * also shows each voice/SMS provider's state, without depending on it: a provider that is down
 * leaves every other method working, so the portal stays in service (SPEC N1).
 */
export function setUpHealthChecks({ database, redis, directory, providers }: Services): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, 'ok' | 'failed'> = {};
    try {
      await database.ping();
      checks.database = 'ok';
    } catch {
      checks.database = 'failed';
    }
    if (redis) {
      try {
        await redis.ping();
        checks.redis = 'ok';
      } catch {
        checks.redis = 'failed';
      }
    }
    if (directory.check) {
      try {
        await directory.check();
        checks.directory = 'ok';
      } catch {
        checks.directory = 'failed';
      }
    }
    const ready = Object.values(checks).every((check) => check === 'ok');
    const telephony = Object.fromEntries(
      Object.entries(await providers.state()).map(([channel, { provider, state, checkedAt }]) => [
        channel,
        { provider, state, ...(checkedAt ? { checkedAt: new Date(checkedAt).toISOString() } : {}) },
      ]),
    );
    res
      .status(ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({
        status: ready ? 'ready' : 'unavailable',
        checks,
        // Only where calls or texts are set up at all.
        ...(Object.keys(telephony).length > 0 ? { providers: telephony } : {}),
      });
  });
  return router;
}
