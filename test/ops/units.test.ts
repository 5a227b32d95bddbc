/**
 * Unit tests of the operations pieces that are pure logic: provider call/error/fallback
 * counting, the key lookup cache's bound (a revocation is seen within its TTL), readiness
 * checks that hang or throw, and the Prometheus text reader the other tests rely on.
 */
import { describe, expect, it } from 'vitest';
import { instrumentProviders } from '../../src/metrics/providers.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { createKeyLookup } from '../../src/keys/lookup.js';
import { hashKey } from '../../src/keys/key-format.js';
import type { KeyStore, StoredKey } from '../../src/keys/store.js';
import { createReadiness } from '../../src/server/health.js';
import type { Provider, ProviderContext } from '../../src/seam/provider.js';
import { parseProm, total } from './prom-text.js';

function provider(id: string, behaviour: 'fail' | 'answer'): Provider {
  return {
    id,
    kind: 'openai',
    capabilities: ['answer', 'detect'],
    describe: () => id,
    async *generate() {
      if (behaviour === 'fail') throw new Error(`${id} is down`);
      yield `answer from ${id}`;
    },
    async detect() {
      if (behaviour === 'fail') throw new Error(`${id} is down`);
      return [];
    },
  };
}

describe('provider metrics', () => {
  it('counts calls and errors per provider and a fallback from the one that failed to the next', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const wrapped = instrumentProviders(new Map([['a', provider('a', 'fail')], ['b', provider('b', 'answer')]]), metrics);
    // The router hands every provider it tries for one request the same context object.
    const ctx = { capability: 'answer', model: { id: 'm' } } as unknown as ProviderContext;
    await expect(async () => {
      for await (const _ of wrapped.get('a')!.generate!(ctx)) void _;
    }).rejects.toThrow('a is down');
    const pieces: string[] = [];
    for await (const p of wrapped.get('b')!.generate!(ctx)) pieces.push(p);
    expect(pieces).toEqual(['answer from b']);
    // Another request: no fallback.
    const other = { capability: 'detect', model: { id: 'm' } } as unknown as ProviderContext;
    await wrapped.get('b')!.detect!(other, { phrase: '', all: true });
    expect(wrapped.get('b')!.describe()).toBe('b');

    const s = parseProm((await metrics.render()).body);
    expect(total(s, 'ocellus_provider_calls_total', { provider: 'a', capability: 'answer' })).toBe(1);
    expect(total(s, 'ocellus_provider_calls_total', { provider: 'b', capability: 'answer' })).toBe(1);
    expect(total(s, 'ocellus_provider_calls_total', { provider: 'b', capability: 'detect' })).toBe(1);
    expect(total(s, 'ocellus_provider_errors_total', { provider: 'a' })).toBe(1);
    expect(total(s, 'ocellus_provider_errors_total', { provider: 'b' })).toBe(0);
    expect(total(s, 'ocellus_provider_fallbacks_total', { from: 'a', to: 'b', capability: 'answer' })).toBe(1);
    expect(total(s, 'ocellus_provider_fallbacks_total')).toBe(1);
  });

  it('follows the pool\'s cumulative rejections as counters at scrape time', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const stats = { admitted: 3, running: 2, waiting: 5, refused: 4, timedOut: 1 };
    metrics.watchPool(() => stats);
    let s = parseProm((await metrics.render()).body);
    expect(total(s, 'ocellus_vision_queue_depth')).toBe(5);
    expect(total(s, 'ocellus_vision_rejections_total', { reason: 'queue_full' })).toBe(4);
    stats.refused = 6;
    stats.waiting = 0;
    s = parseProm((await metrics.render()).body);
    expect(total(s, 'ocellus_vision_rejections_total', { reason: 'queue_full' })).toBe(6);
    expect(total(s, 'ocellus_vision_rejections_total', { reason: 'queue_timeout' })).toBe(1);
    expect(total(s, 'ocellus_vision_queue_depth')).toBe(0);
  });
});

describe('key lookup cache', () => {
  it('sees a revocation once its TTL has passed, and not before', async () => {
    let clock = 0;
    let live: StoredKey | undefined = { id: 'k1', name: 'n', prefix: 'ocl_abc', rpm: undefined, storageBytes: undefined, createdAt: 0, revokedAt: undefined };
    let queries = 0;
    const store = {
      findLive: async (hash: string) => {
        queries++;
        return hash === hashKey('ocl_secret') ? live : undefined;
      },
      any: async () => true,
    } as unknown as KeyStore;
    const lookup = createKeyLookup(store, { ttlMs: 500, now: () => clock });
    expect((await lookup.find('ocl_secret'))?.id).toBe('k1');
    live = undefined; // revoked in the store
    clock = 499;
    expect((await lookup.find('ocl_secret'))?.id).toBe('k1');
    expect(queries).toBe(1);
    clock = 500;
    expect(await lookup.find('ocl_secret')).toBeUndefined();
    expect(queries).toBe(2);
    // Unknown keys are cached too.
    expect(await lookup.find('ocl_other')).toBeUndefined();
    expect(await lookup.find('ocl_other')).toBeUndefined();
    expect(queries).toBe(3);
  });
});

describe('readiness', () => {
  it('reports a check that throws, one that hangs past the timeout, and draining', async () => {
    const r = createReadiness(
      [
        { name: 'ok', check: () => undefined },
        { name: 'db', check: async () => Promise.reject(new Error('connection refused')) },
        { name: 'slow', check: () => new Promise<void>(() => undefined) },
      ],
      { timeoutMs: 50 },
    );
    expect(await r.report()).toEqual({
      ready: false,
      draining: false,
      checks: { ok: 'ok', db: 'connection refused', slow: 'no answer within 50 ms' },
    });
    const fine = createReadiness([{ name: 'ok', check: async () => undefined }]);
    expect((await fine.report()).ready).toBe(true);
    fine.startDraining();
    expect(await fine.report()).toEqual({ ready: false, draining: true, checks: { ok: 'ok' } });
  });
});
