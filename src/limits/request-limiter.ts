/**
 * Per-key request rate (`--requests-per-minute`), counted where every replica sees the same
 * number: Redis when configured (one atomic INCR+PEXPIRE per request), else PostgreSQL when
 * configured (one upsert per request: correct across replicas, slower), else this process's
 * memory (a single node). rate-limiter-flexible does the counting on each store; a window is
 * fixed from a key's first request.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Pool } from '../db/pool.js';
import { quotaExceeded } from './quota-error.js';

export interface RequestLimiter {
  /** Where the counters live: `memory`, `redis` or `postgres`. */
  readonly store: 'memory' | 'redis' | 'postgres';
  /**
   * Counts one request of `key` against `perMinute` (the flag's limit, or the key's own from
   * `ocellus keys create --rpm`); throws the 429 ApiError when the key is over it.
   */
  consume(key: string, perMinute: number): Promise<void>;
}

export interface RequestLimiterOptions {
  redis?: Redis | undefined;
  pg?: Pool | undefined;
  /** The table migration 2 creates (tests point the limiter at their own). */
  tableName?: string;
}

const WINDOW_SECONDS = 60;

export function createRequestLimiter(opts: RequestLimiterOptions): RequestLimiter {
  const store: RequestLimiter['store'] = opts.redis ? 'redis' : opts.pg ? 'postgres' : 'memory';
  // One counter set per distinct limit (rate-limiter-flexible fixes points per limiter); the
  // limit is part of the key prefix, so a key whose limit changes starts a fresh minute.
  const limiters = new Map<number, RateLimiterAbstract>();
  const limiterFor = (points: number): RateLimiterAbstract => {
    let limiter = limiters.get(points);
    if (limiter) return limiter;
    const common = { points, duration: WINDOW_SECONDS, keyPrefix: `ocellus-rpm-${points}` };
    if (opts.redis)
      // Redis unreachable: each replica keeps counting in memory rather than refusing everyone.
      limiter = new RateLimiterRedis({ ...common, storeClient: opts.redis, insuranceLimiter: new RateLimiterMemory(common) });
    else if (opts.pg)
      // The table comes from the migrations (tableCreated), so replicas never race to create it.
      limiter = new RateLimiterPostgres({
        ...common,
        storeClient: opts.pg,
        storeType: 'pool',
        tableName: opts.tableName ?? 'rate_limits',
        tableCreated: true,
        clearExpiredByTimeout: true,
      });
    else limiter = new RateLimiterMemory(common);
    limiters.set(points, limiter);
    return limiter;
  };
  return {
    store,
    async consume(key, perMinute) {
      try {
        await limiterFor(perMinute).consume(key);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err; // the store failed: a 500, logged
        throw quotaExceeded(
          { quotaMetric: 'ocellus/requests', quotaId: 'RequestsPerMinutePerApiKey', quotaValue: perMinute },
          `this API key may make ${perMinute} requests per minute`,
          err.msBeforeNext,
        );
      }
    },
  };
}
