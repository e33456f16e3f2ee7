import { createClient } from 'redis';
import type { Logger } from 'pino';

/** How long a command or a connection attempt may take before the request fails (SPEC O5). */
const timeoutMs = 2000;

function createRedisClient(url: string) {
  return createClient({
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: timeoutMs },
    socket: { connectTimeout: timeoutMs },
  });
}

export type RedisClient = ReturnType<typeof createRedisClient>;

/** host:port of a Redis URL, for logs: the URL itself may carry a password. */
function redisAddress(url: string): string {
  const { hostname, port } = new URL(url);
  return `${hostname}:${port || '6379'}`;
}

/**
 * Connects to Redis without waiting for it: the portal starts and serves while Redis is down
 * (pages that need it answer 503, SPEC O5) and the client keeps reconnecting on its own. Commands
 * fail at once while it is offline and after two seconds when Redis does not answer, so that no
 * request hangs. One warning when Redis cannot be reached, one line when it is back, however many
 * attempts lie between.
 */
export async function openRedis(url: string, logger: Logger): Promise<RedisClient> {
  const redis = createRedisClient(url);
  const address = redisAddress(url);
  let reachable: boolean | undefined;
  redis.on('ready', () => {
    if (reachable === false) logger.info({ redis: address }, 'Redis is reachable again');
    reachable = true;
  });
  redis.on('error', (error: unknown) => {
    if (reachable === false) return;
    logger.warn(
      { err: error, redis: address },
      reachable === undefined
        ? 'Redis cannot be reached: the portal starts anyway and answers "temporarily unavailable" until it can; retrying'
        : 'Redis connection lost: pages answer "temporarily unavailable" until it is back; retrying',
    );
    reachable = false;
  });
  const firstOutcome = new Promise<void>((resolve) => {
    redis.once('ready', resolve);
    redis.once('error', resolve);
  });
  // Settles only once connected, or when the client is closed while it still retries.
  redis.connect().catch(() => undefined);
  await firstOutcome;
  return redis;
}

/** Closes the client whether or not Redis is reachable: quitting needs an answer from it. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.isReady) await redis.close();
  else if (redis.isOpen) redis.destroy();
}
