import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { Services } from '../services.ts';

/**
 * rate-limit-redis loads its scripts once, when the limiter is made: with Redis down at that
 * moment it would keep the failed load and refuse every request for good. This store loads
 * them again at the next request instead, so the limit works as soon as Redis is back (SPEC O5).
 */
class ReloadingRedisStore extends RedisStore {
  override async increment(key: string) {
    await this.scriptsLoaded();
    return super.increment(key);
  }

  override async get(key: string) {
    await this.scriptsLoaded();
    return super.get(key);
  }

  private async scriptsLoaded(): Promise<void> {
    try {
      await Promise.all([this.incrementScriptSha, this.getScriptSha]);
    } catch {
      this.incrementScriptSha = this.loadIncrementScript();
      this.getScriptSha = this.loadGetScript();
      await Promise.all([this.incrementScriptSha, this.getScriptSha]);
    }
  }
}

/**
 * A per-IP limit (SPEC S5). In Redis when configured so that every instance counts together;
 * otherwise in this process.
 */
function ipRateLimit(
  { config, redis }: Services,
  options: { name: string; limit: number; windowSeconds: number; failuresOnly: boolean },
): RequestHandler {
  return rateLimit({
    windowMs: options.windowSeconds * 1000,
    limit: options.limit,
    // Only answers of 400 and above count: a person who gets it right is never held up.
    skipSuccessfulRequests: options.failuresOnly,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Without a trusted proxy, X-Forwarded-For is ignored on purpose: anyone can forge it.
    validate: { xForwardedForHeader: false },
    ...(redis
      ? {
          store: new ReloadingRedisStore({
            prefix: `${config.REDIS_KEY_PREFIX}rl:${options.name}:`,
            sendCommand: (...args: string[]) => redis.sendCommand(args),
          }),
        }
      : {}),
    handler: (_req, res) => {
      res.status(429).render('errors/error', { page: 'tooManyRequests' });
    },
  });
}

/** Sign-in attempts per client address, whatever their outcome. */
export function signInRateLimit(services: Services): RequestHandler {
  return ipRateLimit(services, {
    name: 'signin',
    limit: services.config.RATE_LIMIT_SIGNIN_MAX,
    windowSeconds: services.config.RATE_LIMIT_SIGNIN_WINDOW_SECONDS,
    failuresOnly: false,
  });
}

/**
 * Refused forms after the password, per client address: wrong codes and answers in the second
 * step, at enrolment and on My account (SPEC S5), on top of each account's lockout (M8). Passwords
 * of several accounts in one hand still meet this limit across all of them.
 */
export function codesRateLimit(services: Services): RequestHandler {
  const limit = ipRateLimit(services, {
    name: 'codes',
    limit: services.config.RATE_LIMIT_CODES_MAX,
    windowSeconds: services.config.RATE_LIMIT_CODES_WINDOW_SECONDS,
    failuresOnly: true,
  });
  // Case-insensitive, as Express and the journey match paths: /VERIFY is /verify.
  const checked = /^\/(?:verify|setup|account)(?:\/|$)/i;
  return (req, res, next) => {
    if (req.method === 'POST' && checked.test(req.path)) {
      void limit(req, res, next);
      return;
    }
    next();
  };
}
