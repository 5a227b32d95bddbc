/**
 * The vision worker pool: models run in worker threads, and a full queue answers 429
 * RESOURCE_EXHAUSTED with Retry-After instead of growing without bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/media/decode.js';
import { ApiError } from '../../src/errors.js';
import { lookAgainWith } from '../../src/vision/detect/closer-look.js';
import { followUp } from '../../src/vision/detect/follow-up.js';
import { createDetector } from '../../src/vision/detect/index.js';
import { CropVerifier } from '../../src/vision/detect/verify-crop.js';
import type { RawImage } from '../../src/vision/analysis.js';
import { VisionPool } from '../../src/vision/pool.js';
import { readFixture } from '../support/fixtures.js';

describe('VisionPool', () => {
  let pool: VisionPool;
  beforeAll(async () => {
    pool = new VisionPool({ threads: 1, maxQueue: 1, models: { detector: 'centernet', segment: false, ocrLatin: false, ocrCjk: false, safety: false, people: false } });
    await pool.warm();
  }, 120_000);
  afterAll(() => pool.close());

  it('detects in a worker thread', async () => {
    const img = await decodeImage(readFixture('dog.jpg'), { partLabel: 't', maxPixels: 1e8 });
    const a = await pool.analyse(img, { detect: {} });
    expect(a.objects?.map((o) => o.label)).toContain('dog');
    expect(a.times.detect).toBeGreaterThan(0);
  });

  it('refuses work past the queue bound with 429 and Retry-After, and keeps serving', async () => {
    const img = await decodeImage(readFixture('dog.jpg'), { partLabel: 't', maxPixels: 1e8 });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => pool.analyse(img, { detect: {} })));
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(ApiError);
      expect((r.reason as ApiError).httpStatus).toBe(429);
      expect((r.reason as ApiError).headers['Retry-After']).toBeDefined();
    }
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(2);
    expect((await pool.analyse(img, { detect: {} })).objects?.length).toBeGreaterThan(0);
  });

  it('bounds requests that carry an AbortSignal too (piscina queued those past maxQueue)', async () => {
    const img = await decodeImage(readFixture('dog.jpg'), { partLabel: 't', maxPixels: 1e8 });
    // threads 1 + queue 1: two requests admitted, each with two tasks (as a caption: safety + detect).
    const requests = Array.from({ length: 6 }, () => new AbortController());
    const results = await Promise.allSettled(
      requests.flatMap((c) => [pool.analyse(img, { detect: {} }, c.signal), pool.analyse(img, { detect: {} }, c.signal)]),
    );
    const perRequest = requests.map((_, i) => [results[2 * i]!.status, results[2 * i + 1]!.status]);
    expect(perRequest.filter(([a, b]) => a === 'fulfilled' && b === 'fulfilled')).toHaveLength(2);
    expect(perRequest.filter(([a, b]) => a === 'rejected' && b === 'rejected')).toHaveLength(4);
    for (const c of requests) c.abort();
    expect(pool.stats()).toMatchObject({ admitted: 0, running: 0, waiting: 0 });
  });
});

describe('VisionPool with onnxruntime models: a request that goes away mid-inference', () => {
  let pool: VisionPool;
  beforeAll(async () => {
    pool = new VisionPool({ threads: 1, maxQueue: 2, models: { detector: 'ssd-mobilenet', segment: false, ocrLatin: false, ocrCjk: false, safety: false, people: false } });
    await pool.warm();
  }, 120_000);
  afterAll(() => pool.close());

  it('stops waiting at once, leaves the worker running (no terminate under onnxruntime) and keeps serving', async () => {
    const img = await decodeImage(readFixture('dog.jpg'), { partLabel: 't', maxPixels: 1e8 });
    for (let i = 0; i < 5; i++) {
      const c = new AbortController();
      const gone = pool.analyse(img, { detect: {} }, c.signal);
      // The task is on the worker already (a free thread takes it at once); the client leaves now.
      c.abort(new Error('client went away'));
      await expect(gone).rejects.toThrow('client went away');
    }
    const after = await pool.analyse(img, { detect: {} });
    expect(after.objects?.map((o) => o.label)).toContain('dog');
  });
});

describe('VisionPool sharing a detection with the second thread (SSD’s part, the label check, the closer looks)', () => {
  let pool: VisionPool;
  const models = { detector: 'ssd-centernet', verifyLabels: true, segment: false, ocrLatin: false, ocrCjk: false, safety: false, people: false };
  beforeAll(async () => {
    pool = new VisionPool({ threads: 2, maxQueue: 8, models });
    await pool.warm();
  }, 120_000);
  afterAll(() => pool.close());

  /** The worker's steps in one thread, one after another: the detector, then the label check and the closer looks. */
  async function inOneThread(img: RawImage, minScore: number) {
    const local = createDetector('ssd-centernet');
    const verifier = new CropVerifier();
    try {
      const steps = { verifier, look: lookAgainWith(local), threshold: local.defaultMinScore };
      return (await followUp(img, await local.detect(img, { minScore }), steps)).detections;
    } finally {
      local.dispose();
      verifier.dispose();
    }
  }

  it('answers what the detector answers in one thread, with SSD run on the other thread when it is free', async () => {
    const img = await decodeImage(readFixture('dog.jpg'), { partLabel: 't', maxPixels: 1e8 });
    const expected = await inOneThread(img, 0.2);
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push(await pool.analyse(img, { detect: { minScore: 0.2 } }));
    for (const a of runs) {
      expect(a.objects?.map((o) => o.label)).toEqual(expected.map((d) => d.label));
      a.objects!.forEach((o, j) => expect(o.score).toBeCloseTo(expected[j]!.score, 5));
    }
    // An idle pool: the helper starts at once on the free thread and is done before CenterNet.
    expect(runs.filter((a) => a.detectStages?.lent === true).length).toBeGreaterThanOrEqual(1);
  });

  it('shares the label check and the closer looks too, with the same answer (person.jpg: two boxes in doubt)', async () => {
    const img = await decodeImage(readFixture('person.jpg'), { partLabel: 't', maxPixels: 1e8 });
    const expected = await inOneThread(img, 0.4);
    expect(expected.map((d) => d.label)).toContain('horse'); // the closer look decided the "sheep"
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push(await pool.analyse(img, { detect: {} }));
    for (const a of runs) {
      expect(a.objects?.map((o) => o.label)).toEqual(expected.map((d) => d.label));
      a.objects!.forEach((o, j) => expect(o.score).toBeCloseTo(expected[j]!.score, 5));
    }
    expect(runs.filter((a) => (a.detectStages?.helped ?? 0) > 0).length).toBeGreaterThanOrEqual(1);
  });

  it('under a burst every request answers the same (a busy pool keeps the part where it is)', async () => {
    const img = await decodeImage(readFixture('horses.jpg'), { partLabel: 't', maxPixels: 1e8 });
    const one = await pool.analyse(img, { detect: {} });
    const burst = await Promise.all(Array.from({ length: 8 }, () => pool.analyse(img, { detect: {} })));
    for (const a of burst) expect(a.objects?.map((o) => [o.label, o.score.toFixed(5)])).toEqual(one.objects?.map((o) => [o.label, o.score.toFixed(5)]));
    expect(pool.stats().running).toBe(0);
  });
});
