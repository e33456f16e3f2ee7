import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import type { Metrics } from '../metrics.ts';
import { routeAccess } from './journey.ts';

const areas = new Set([...Object.keys(routeAccess), 'assets', 'metrics']);

/** The portal area a path goes to (its first segment), or `other`: a label of known values. */
function areaOf(path: string, basePath: string): string {
  const inside = path.toLowerCase().startsWith(basePath.toLowerCase())
    ? path.slice(basePath.length)
    : path;
  const first = (inside.split('/')[1] ?? '').toLowerCase();
  return areas.has(first) ? first || 'home' : 'other';
}

/** SPEC O1: every request counted by area and status, once it is answered. */
export function setUpRequestMetrics(
  metrics: Metrics | undefined,
  basePath: string,
): RequestHandler {
  return (req, res, next) => {
    if (!metrics) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    const area = areaOf(req.path, basePath);
    res.on('finish', () => {
      metrics.observeRequest({
        method: req.method,
        area,
        status: res.statusCode,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    });
    next();
  };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * SPEC O1: `GET /metrics` in Prometheus format, for a scraper holding METRICS_TOKEN as a bearer
 * token. Without a token configured there is no such page. Answered before sessions, so a scrape
 * or a refused guess stores nothing.
 */
export function metricsRoutes(metrics: Metrics | undefined, token: string): Router {
  const router = Router();
  if (!metrics || token === '') return router;
  const expected = digest(token);
  router.get('/metrics', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const given = /^Bearer ([\x21-\x7e]+)$/i.exec(req.get('authorization') ?? '')?.[1];
    // Both sides hashed to one length, so the comparison takes the same time for any guess.
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      res.status(401).set('WWW-Authenticate', 'Bearer realm="metrics"').type('text').send('');
      return;
    }
    res.type(metrics.contentType).send(await metrics.render());
  });
  return router;
}
