/**
 * Analyses shared between replicas through a real Redis (src/vision/shared-analyses.ts):
 * one replica runs the models on a photo, another answers a question about the same photo
 * from what the first kept, without running any; replicas running other models do not share;
 * Redis being unreachable only means running the models.
 */
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/limits/redis.js';
import { AnalysisCache, analysisLookup } from '../../src/vision/analysis-cache.js';
import { analysisNamespace, redisAnalyses } from '../../src/vision/shared-analyses.js';
import type { Analysis } from '../../src/vision/analysis.js';
import type { ConfigFlags } from '../../src/config.js';
import { readFixture } from '../support/fixtures.js';
import { startServer, type RunningServer } from '../support/server.js';
import { scaleServers } from '../support/scale/context.js';
import { freePort } from '../support/scale/processes.js';

const logger = pino({ level: 'silent' });
const dog = (): Analysis => ({ objects: [{ label: 'dog', score: 0.9, box: [0.1, 0.2, 0.5, 0.9] }], detectThreshold: 0.4, times: { detect: 50 } });
const lookup = (hash: string) => analysisLookup(hash, 1024, { detect: { belowThreshold: 0.5 } }, [0.6])!;

function counted() {
  let runs = 0;
  return { run: async () => (runs++, dog()), runs: () => runs };
}

const started: RunningServer[] = [];
const clients: Array<ReturnType<typeof connectRedis>> = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  for (const c of clients) c.disconnect();
});

describe('analyses shared through Redis', () => {
  it('one cache runs the models, another with the same models finds the analysis; other models do not share it', async () => {
    const redis = connectRedis(scaleServers().redisUrl, logger);
    clients.push(redis);
    // No offline queue (commands fail fast while disconnected): wait for the connection.
    if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
    const hash = `photo-${Date.now()}`;
    const namespace = analysisNamespace({ detector: 'ssd-centernet', verifyLabels: true });
    const a = new AnalysisCache({ shared: redisAnalyses(redis, { namespace }) });
    const b = new AnalysisCache({ shared: redisAnalyses(redis, { namespace }) });
    const other = new AnalysisCache({ shared: redisAnalyses(redis, { namespace: analysisNamespace({ detector: 'ssd-mobilenet', verifyLabels: true }) }) });

    const ma = counted();
    await a.get(lookup(hash), ma.run);
    expect(ma.runs()).toBe(1);
    // keep() does not delay the caller; wait until the write is visible.
    await expect.poll(async () => (await redis.keys(`${namespace}:${hash}*`)).length).toBe(1);

    const mb = counted();
    const found = await b.get(lookup(hash), mb.run);
    expect(mb.runs()).toBe(0);
    expect(found).toEqual({ ...dog(), times: {} });
    expect(b.stats()).toMatchObject({ shared: 1, misses: 0 });
    // Now kept by b itself.
    await b.get(lookup(hash), mb.run);
    expect(b.stats()).toMatchObject({ hits: 1, shared: 1 });

    const mo = counted();
    await other.get(lookup(hash), mo.run);
    expect(mo.runs()).toBe(1);
    const ttl = await redis.ttl((await redis.keys(`${namespace}:${hash}*`))[0]!);
    expect(ttl).toBeGreaterThan(3000);
    expect(ttl).toBeLessThanOrEqual(3600);
  });

  it('runs the models when Redis cannot be reached, without an error', async () => {
    const down = connectRedis(`redis://127.0.0.1:${await freePort()}`, logger);
    clients.push(down);
    const errors: Error[] = [];
    const cache = new AnalysisCache({ shared: redisAnalyses(down, { namespace: 'ocellus:analysis:test', onError: (e) => errors.push(e) }) });
    const m = counted();
    expect((await cache.get(lookup('unreachable'), m.run)).objects).toEqual(dog().objects);
    expect(m.runs()).toBe(1);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('runs the models when Redis is up but does not answer in time', async () => {
    const redis = connectRedis(scaleServers().redisUrl, logger);
    const blocker = connectRedis(scaleServers().redisUrl, logger);
    clients.push(redis, blocker);
    for (const c of [redis, blocker]) if (c.status !== 'ready') await new Promise((r) => c.once('ready', r));
    const errors: Error[] = [];
    const cache = new AnalysisCache({ shared: redisAnalyses(redis, { namespace: 'ocellus:analysis:test-slow', findTimeoutMs: 100, onError: (e) => errors.push(e) }) });
    // A script that spins for 1.5 s holds the (single-threaded) server: every other client's
    // command waits behind it (DEBUG SLEEP is disabled in Redis 7's default configuration).
    const spin = `local t = redis.call('TIME'); local s = t[1] + t[2] / 1e6
      while true do local n = redis.call('TIME'); if n[1] + n[2] / 1e6 - s > 1.5 then return 1 end end`;
    const sleeping = blocker.eval(spin, 0);
    await new Promise((r) => setTimeout(r, 50));
    const m = counted();
    const t = performance.now();
    expect((await cache.get(lookup('slow-redis'), m.run)).objects).toEqual(dog().objects);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(m.runs()).toBe(1);
    expect(errors.map((e) => e.message)).toEqual(['Redis did not answer a lookup within 100 ms']);
    await sleeping;
  });

  it('two replicas: a question on B about the photo A captioned is answered without running B’s models', async () => {
    const flags = { redisUrl: scaleServers().redisUrl, segment: false, people: false } as ConfigFlags;
    const [a, b] = await Promise.all([startServer({ flags }), startServer({ flags })]);
    started.push(a, b);
    const ask = async (s: RunningServer, text: string) => {
      const res = await fetch(`${s.baseUrl}/v1beta/models/gemini-2.5-flash:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/jpeg', data: readFixture('dog.jpg').toString('base64') } }, { text }] }] }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> }).candidates[0]!.content.parts[0]!.text;
    };
    const cacheOf = async (s: RunningServer) =>
      ((await (await fetch(`${s.baseUrl}/healthz`)).json()) as { analysisCache: { hits: number; misses: number; shared: number } }).analysisCache;

    expect(await ask(a, 'Caption this image.')).toMatch(/\bdog\b/);
    // A offers its analyses (the caption's and the safety rating's) without waiting for Redis.
    await expect.poll(async () => (await cacheOf(a)).misses).toBe(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(await ask(b, 'Is there a dog in this image?')).toMatch(/^Yes\b.*\bdog\b/);
    expect(await cacheOf(b)).toMatchObject({ misses: 0, shared: 2 });
  });
});
