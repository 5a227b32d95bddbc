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
  /** Counts one request of `key`; throws the 429 ApiError when the key is over its limit. */
  consume(key: string): Promise<void>;
}

export interface RequestLimiterOptions {
  requestsPerMinute: number;
  redis?: Redis | undefined;
  pg?: Pool | undefined;
  /** The table migration 2 creates (tests point the limiter at their own). */
  tableName?: string;
}

const WINDOW_SECONDS = 60;

export function createRequestLimiter(opts: RequestLimiterOptions): RequestLimiter {
  const points = opts.requestsPerMinute;
  const common = { points, duration: WINDOW_SECONDS, keyPrefix: 'ocellus-rpm' };
  let limiter: RateLimiterAbstract;
  let store: RequestLimiter['store'];
  if (opts.redis) {
    // Redis unreachable: each replica keeps counting in memory rather than refusing everyone.
    limiter = new RateLimiterRedis({ ...common, storeClient: opts.redis, insuranceLimiter: new RateLimiterMemory(common) });
    store = 'redis';
  } else if (opts.pg) {
    // The table comes from the migrations (tableCreated), so replicas never race to create it.
    limiter = new RateLimiterPostgres({
      ...common,
      storeClient: opts.pg,
      storeType: 'pool',
      tableName: opts.tableName ?? 'rate_limits',
      tableCreated: true,
      clearExpiredByTimeout: true,
    });
    store = 'postgres';
  } else {
    limiter = new RateLimiterMemory(common);
    store = 'memory';
  }
  return {
    store,
    async consume(key) {
      try {
        await limiter.consume(key);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err; // the store failed: a 500, logged
        throw quotaExceeded(
          { quotaMetric: 'ocellus/requests', quotaId: 'RequestsPerMinutePerApiKey', quotaValue: points },
          `this API key may make ${points} requests per minute (--requests-per-minute)`,
          err.msBeforeNext,
        );
      }
    },
  };
}
