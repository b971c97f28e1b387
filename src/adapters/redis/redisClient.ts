import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection as every healcast adapter wants it: connected explicitly (`connect()`),
 * reconnecting with a capped exponential backoff, and with connection errors surfacing through
 * failed commands and readiness rather than as unhandled 'error' events. `overrides` sets what
 * differs per use (retries per request, the offline queue, timeouts).
 */
export function createRedis(url: string, overrides: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5_000),
    ...overrides,
  });
  redis.on('error', () => {
    // Surfaces as failed commands and through `status`; ioredis reconnects on its own.
  });
  return redis;
}
