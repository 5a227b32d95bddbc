/**
 * Store and database latency: every method of a store object that returns a promise is
 * timed (a histogram per store and operation) and traced (a span per call). A Proxy, so it
 * fits any store implementation (SQLite or PostgreSQL metadata, disk or S3 blobs) without
 * their code knowing.
 */
import { NO_SPANS, type Spans } from '../tracing/spans.js';
import type { StoreMetrics } from './ports.js';

export function instrumentStore<T extends object>(store: T, name: string, metrics: StoreMetrics | undefined, spans: Spans = NO_SPANS): T {
  if (!metrics && !spans.enabled) return store;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const started = performance.now();
        let result: unknown;
        try {
          result = method.apply(target, args);
        } catch (err) {
          metrics?.storeOperation(name, prop, (performance.now() - started) / 1000, false);
          throw err;
        }
        // Synchronous methods (close, stats) are passed through untimed.
        if (!(result instanceof Promise)) return result;
        const timed = result.then(
          (v) => {
            metrics?.storeOperation(name, prop, (performance.now() - started) / 1000, true);
            return v;
          },
          (err: unknown) => {
            metrics?.storeOperation(name, prop, (performance.now() - started) / 1000, false);
            throw err;
          },
        );
        return spans.enabled ? spans.run(`store ${name}.${prop}`, { 'ocellus.store': name, 'ocellus.op': prop }, () => timed) : timed;
      };
    },
  });
}
