/**
 * Analyses shared by the replicas of a scaled-out deployment (`--redis-url`), behind each
 * replica's own analysis cache (analysis-cache.ts): with no affinity between a client and a
 * replica, the turns of one chat land on different replicas, and each would otherwise run
 * the models on the same photo again.
 *
 * Redis holds each analysis as JSON under a key naming what produced it (the namespace: the
 * models a replica runs and the analysis format), so replicas configured differently never
 * read each other's, and with an expiry, so Redis is not filled by images nobody asks about
 * again. Each image a replica has not seen costs one MGET before its models run. Redis being
 * down costs a lookup that fails fast (the connection has no offline queue), and a Redis that
 * is up but does not answer is given `findTimeoutMs`: either way the replica then runs the
 * models as it would alone.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Analysis } from './analysis.js';

export interface SharedAnalyses {
  /** The first of `keys` a replica kept, or undefined (also when the store cannot be reached). */
  find(keys: string[]): Promise<Analysis | undefined>;
  /** Offers an analysis to the other replicas; never throws and never delays the caller. */
  keep(key: string, analysis: Analysis): void;
}

export interface RedisAnalysesOptions {
  /** What makes analyses comparable: replicas with another namespace neither see nor overwrite these. */
  namespace: string;
  /** Seconds an analysis is kept after it was last written. Default one hour. */
  ttlSeconds?: number;
  /** Larger analyses (JSON bytes) are not shared. Default 1 MiB. */
  maxBytes?: number;
  /** Longest wait for a lookup before running the models instead. Default 250 ms (a loopback MGET takes < 1 ms). */
  findTimeoutMs?: number;
  /** Called when Redis fails a command (the replica carries on alone). */
  onError?: (err: Error) => void;
}

/**
 * The namespace for replicas running `models` (the vision settings that change what an
 * analysis says) with this analysis format: bump `ANALYSIS_FORMAT` when `Analysis` changes
 * shape or meaning, so replicas of different versions do not share.
 */
// 2: detections after the closer look (a replica without it would hand out "sheep" for a horse).
export const ANALYSIS_FORMAT = 2;
export function analysisNamespace(models: Record<string, unknown>): string {
  const digest = createHash('sha256').update(JSON.stringify({ format: ANALYSIS_FORMAT, ...models })).digest('hex').slice(0, 16);
  return `ocellus:analysis:${digest}`;
}

export function redisAnalyses(redis: Redis, opts: RedisAnalysesOptions): SharedAnalyses {
  const ttl = opts.ttlSeconds ?? 3600;
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  const findTimeoutMs = opts.findTimeoutMs ?? 250;
  const full = (key: string) => `${opts.namespace}:${key}`;
  const failed = (err: unknown) => opts.onError?.(err instanceof Error ? err : new Error(String(err)));
  return {
    async find(keys) {
      if (keys.length === 0) return undefined;
      let values: Array<string | null>;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer a lookup within ${findTimeoutMs} ms`)), findTimeoutMs);
      });
      try {
        values = await Promise.race([redis.mget(...keys.map(full)), late]);
      } catch (err) {
        failed(err);
        return undefined;
      } finally {
        clearTimeout(timer);
      }
      for (const v of values) {
        if (v === null) continue;
        try {
          return JSON.parse(v) as Analysis;
        } catch {
          // A value this version cannot read is as good as none.
        }
      }
      return undefined;
    },
    keep(key, analysis) {
      const json = JSON.stringify({ ...analysis, times: {} });
      if (Buffer.byteLength(json) > maxBytes) return;
      redis.set(full(key), json, 'EX', ttl).catch(failed);
    },
  };
}
