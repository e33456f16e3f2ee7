import { Router } from 'express';
import type { Services } from '../services.ts';

/** SPEC O1: liveness and readiness, answered before sessions so probes create none. */
export function setUpHealthChecks({ database, redis, directory }: Services): Router {
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
    res
      .status(ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: ready ? 'ready' : 'unavailable', checks });
  });
  return router;
}
