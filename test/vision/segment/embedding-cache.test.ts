/**
 * SAM encoder outputs cached per image: the cache itself (pure), and a second segmentation
 * of the same photo through the real worker pool skipping the encoder, with the same masks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../../src/media/decode.js';
import type { RawImage } from '../../../src/vision/analysis.js';
import { defaultIntraOpThreads, defaultWideEncoderThreads, VisionPool } from '../../../src/vision/pool.js';
import { EmbeddingCache, imageKey, shareEmbedding } from '../../../src/vision/segment/embedding-cache.js';
import type { SamEmbedding } from '../../../src/vision/segment/sam.js';
import { readFixture } from '../../support/fixtures.js';

const geometry = { width: 4, height: 4, frameWidth: 4, frameHeight: 4, scale: 1, side: 4 };
const emb = (bytes: number): SamEmbedding => ({ data: new Float32Array(bytes / 4), dims: [1, bytes / 4], geometry });

describe('EmbeddingCache', () => {
  it('keys images by size and pixels', async () => {
    const a: RawImage = { width: 2, height: 1, rgb: Uint8Array.of(1, 2, 3, 4, 5, 6) };
    const b: RawImage = { width: 1, height: 2, rgb: Uint8Array.of(1, 2, 3, 4, 5, 6) };
    const c: RawImage = { width: 2, height: 1, rgb: Uint8Array.of(1, 2, 3, 4, 5, 7) };
    const ka = await imageKey(a);
    expect(ka).toBe(await imageKey({ ...a, rgb: Uint8Array.from(a.rgb) }));
    expect(ka).not.toBe(await imageKey(b));
    expect(ka).not.toBe(await imageKey(c));
  });

  it('is bounded by bytes, evicting the least recently used', () => {
    const cache = new EmbeddingCache(3000);
    cache.set('a', emb(1000));
    cache.set('b', emb(1000));
    cache.set('c', emb(1000));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('d', emb(1000));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.bytes).toBeLessThanOrEqual(3000);
    cache.set('huge', emb(4000)); // larger than the cache: not kept, nothing thrown
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.hits).toBe(2);
  });

  it('moves embeddings into shared memory once', () => {
    const e = shareEmbedding(emb(16));
    expect(e.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shareEmbedding(e)).toBe(e);
  });

  it('spreads the cores over the workers for intra-op threads (at least 1), unless configured', () => {
    expect(defaultIntraOpThreads(2, 2, undefined)).toBe(1);
    expect(defaultIntraOpThreads(1, 2, undefined)).toBe(2);
    expect(defaultIntraOpThreads(4, 16, undefined)).toBe(4);
    expect(defaultIntraOpThreads(2, 1, undefined)).toBe(1);
    expect(defaultIntraOpThreads(2, 2, '3')).toBe(3);
    expect(defaultIntraOpThreads(2, 2, 'x')).toBe(1);
  });

  it('gives SAM’s wide encoder every core when another worker can lend its own, unless configured', () => {
    expect(defaultWideEncoderThreads(2, 1, 2, undefined)).toBe(2);
    expect(defaultWideEncoderThreads(4, 2, 8, undefined)).toBe(8);
    expect(defaultWideEncoderThreads(1, 2, 2, undefined)).toBe(0); // one worker: its sessions already have every core
    expect(defaultWideEncoderThreads(2, 1, 1, undefined)).toBe(0);
    expect(defaultWideEncoderThreads(2, 1, 2, '0')).toBe(0);
    expect(defaultWideEncoderThreads(2, 1, 2, '4')).toBe(4);
    expect(defaultWideEncoderThreads(2, 1, 2, 'x')).toBe(2);
  });
});

describe('VisionPool: a repeat segmentation skips the SAM encoder', () => {
  let pool: VisionPool;
  beforeAll(async () => {
    pool = new VisionPool({ threads: 2, models: { detector: 'ssd-mobilenet', segment: true, ocrLatin: false, ocrCjk: false, safety: false, people: false } });
    // Both workers ready, as a server's are after start-up: a cold one would spend the request loading SAM.
    await pool.warm();
  }, 120_000);
  afterAll(() => pool.close());

  it('encodes once per image, on whichever worker, with the same masks', async () => {
    const img = await decodeImage(readFixture('dog.jpg'), { partLabel: 't', maxPixels: 1e8 });
    const first = await pool.analyse(img, { detect: {}, segment: {} });
    expect(first.masks?.length).toBeGreaterThanOrEqual(3);
    expect(first.times.samEncode).toBeGreaterThan(0);
    // The idle second worker made some of the masks (shared-work.ts), and they come back in the boxes' order.
    expect(first.masksFromHelper).toBeGreaterThanOrEqual(1);
    const asserted = first.objects!.filter((o) => o.score >= first.detectThreshold!);
    expect(first.masks!.map((m) => m.label)).toEqual(asserted.map((o) => o.label));
    first.masks!.forEach((m, i) => m.box.forEach((v, k) => expect(v).toBeCloseTo(asserted[i]!.box[k]!, 6)));
    // Two more at once: both workers get one, neither encodes.
    const again = await Promise.all([pool.analyse(img, { detect: {}, segment: {} }), pool.analyse(img, { detect: {}, segment: {} })]);
    for (const a of again) {
      expect(a.times.samEncode).toBeUndefined();
      expect(a.masks?.map((m) => [m.label, m.png])).toEqual(first.masks?.map((m) => [m.label, m.png]));
    }
    // Another photo is a miss.
    const other = await decodeImage(readFixture('horses.jpg'), { partLabel: 't', maxPixels: 1e8 });
    expect((await pool.analyse(other, { detect: {}, segment: {} })).times.samEncode).toBeGreaterThan(0);
    expect(pool.stats().samCache).toMatchObject({ entries: 2, hits: 2, misses: 2 });
  }, 120_000);
});

describe('VisionPool: SAM’s encoder on every core when nothing else runs', () => {
  let pool: VisionPool;
  beforeAll(async () => {
    pool = new VisionPool({ threads: 2, intraOpThreads: 1, wideEncoderThreads: 2, models: { detector: null, segment: true, ocrLatin: false, ocrCjk: false, safety: false, people: false } });
    await pool.warm();
  }, 120_000);
  afterAll(() => pool.close());

  const boxes = [{ box: [0.1, 0.1, 0.6, 0.9] as [number, number, number, number], label: 'x' }];
  /** A photo the pool has not seen (one pixel changed), so the encoder runs. */
  const fresh = async (k: number) => {
    const img = await decodeImage(readFixture('dog.jpg'), { partLabel: 't', maxPixels: 1e8 });
    const rgb = Uint8Array.from(img.rgb);
    rgb[0] = k;
    return { ...img, rgb };
  };

  it('alone: the wide session (2 threads); beside another request: at least one runs on the narrow one, with the same masks', async () => {
    const alone = await pool.analyse(await fresh(1), { segment: { boxes } });
    expect(alone.samEncodeThreads).toBe(2);
    const [a, b] = await Promise.all([pool.analyse(await fresh(2), { segment: { boxes } }), pool.analyse(await fresh(3), { segment: { boxes } })]);
    expect([a.samEncodeThreads, b.samEncodeThreads]).toContain(1);
    // One pixel apart, the same mask whichever session encoded it.
    expect(a.masks?.map((m) => m.box.map((v) => v.toFixed(2)))).toEqual(alone.masks?.map((m) => m.box.map((v) => v.toFixed(2))));
  }, 120_000);
});
