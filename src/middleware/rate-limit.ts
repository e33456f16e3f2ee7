import { rateLimit, type RateLimitRequestHandler } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { Services } from '../services.ts';

/**
 * SPEC S5: per-IP limit on sign-in attempts. In Redis when configured so that every instance
 * counts together; otherwise in this process.
 */
export function signInRateLimit({ config, redis }: Services): RateLimitRequestHandler {
  return rateLimit({
    windowMs: config.RATE_LIMIT_SIGNIN_WINDOW_SECONDS * 1000,
    limit: config.RATE_LIMIT_SIGNIN_MAX,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Without a trusted proxy, X-Forwarded-For is ignored on purpose: anyone can forge it.
    validate: { xForwardedForHeader: false },
    ...(redis
      ? {
          store: new RedisStore({
            prefix: `${config.REDIS_KEY_PREFIX}rl:signin:`,
            sendCommand: (...args: string[]) => redis.sendCommand(args),
          }),
        }
      : {}),
    handler: (_req, res) => {
      res.status(429).render('errors/error', { page: 'tooManyRequests' });
    },
  });
}
