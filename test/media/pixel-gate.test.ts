import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { decodeImage } from '../../src/media/decode.js';
import { ImageCache } from '../../src/media/image-cache.js';
import { PixelGate } from '../../src/media/pixel-gate.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('PixelGate', () => {
  it('lets decodes run together while their pixels fit, the rest wait in order', async () => {
    const gate = new PixelGate(100);
    const order: string[] = [];
    const a = await gate.reserve(60);
    const b = gate.reserve(60).then((r) => (order.push('b'), r));
    const c = gate.reserve(10).then((r) => (order.push('c'), r)); // fits, but waits behind b: FIFO
    await tick();
    expect(order).toEqual([]);
    expect(gate.stats()).toEqual({ decodingPixels: 60, waiting: 2 });
    a();
    (await b)();
    (await c)();
    expect(order).toEqual(['b', 'c']);
    expect(gate.stats()).toEqual({ decodingPixels: 0, waiting: 0 });
  });

  it('runs an image bigger than the whole budget alone', async () => {
    const gate = new PixelGate(100);
    const big = await gate.reserve(500);
    let small = false;
    const s = gate.reserve(1).then((r) => ((small = true), r));
    await tick();
    expect(small).toBe(false);
    big();
    big(); // releasing twice is harmless
    (await s)();
    expect(gate.stats().decodingPixels).toBe(0);
  });
});

describe('decodes through the cache take turns by pixels', () => {
  it('never decodes more pixels at once than the budget', async () => {
    const png = (w: number) => sharp({ create: { width: w, height: 100, channels: 3, background: '#808080' } }).png().toBuffer();
    const images = await Promise.all([101, 102, 103, 104].map(png)); // four distinct 10 K-pixel images
    let peak = 0;
    let cache: ImageCache;
    const decode: typeof decodeImage = async (bytes, opts) =>
      decodeImage(bytes, {
        ...opts,
        reservePixels: async (n) => {
          const release = await opts.reservePixels!(n);
          peak = Math.max(peak, cache.stats().decodingPixels);
          return release;
        },
      });
    cache = new ImageCache({ maxDecodingPixels: 25_000, decode });
    const out = await Promise.all(images.map((b, i) => cache.getOrDecode(b, { partLabel: `img${i}`, maxPixels: 1e8 })));
    expect(out.map((o) => o.width)).toEqual([101, 102, 103, 104]);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(25_000);
  });
});
