import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';

/** JSON request logs with an id per request; secrets are redacted by the logger (SPEC S7). */
export function setUpRequestLogging(logger: Logger): Router {
  const router = Router();
  // A silent logger would still build a child logger for every request.
  if (logger.level === 'silent') return router;
  router.use(
    pinoHttp({
      logger,
      genReqId: (_req, res) => {
        const id = randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Query strings may carry a language or, later, a token: log the path only.
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
          id: req.id,
          method: req.method,
          path: req.url.split('?')[0],
          remoteAddress: req.remoteAddress,
        }),
      },
      customLogLevel: (_req, res, error) =>
        error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
    }),
  );
  return router;
}
