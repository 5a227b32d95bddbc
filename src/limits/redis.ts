/**
 * The Redis connection of a replica (`--redis-url`). Commands fail fast while Redis is down
 * (no offline queue), so a limit check never hangs a request: the limiter then counts in
 * memory until Redis is back (see request-limiter.ts).
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export function connectRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  let lastLog = 0;
  redis.on('error', (err: Error) => {
    // ioredis reconnects by itself; one line every 10 s is enough to see it in the log.
    if (Date.now() - lastLog < 10_000) return;
    lastLog = Date.now();
    logger.warn({ err: err.message }, 'Redis unavailable; rate limits counted and analyses kept per replica until it is back');
  });
  return redis;
}
