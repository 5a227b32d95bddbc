import { describe, expect, it } from 'vitest';
import { cropBox, cropToPixels, faceTiles, frameOf, poolFactor, poolRgb, squareAround, toNormBox, wholeImageCrop } from '../../../src/vision/people/crop.js';

describe('square crops', () => {
  it('letterboxes the whole image into a centred square', () => {
    expect(wholeImageCrop(frameOf(640, 424))).toEqual({ cx: 320, cy: 212, side: 640 });
    expect(wholeImageCrop(frameOf(300, 500))).toEqual({ cx: 150, cy: 250, side: 500 });
  });

  it('squares a box around its centre, on its longer side', () => {
    expect(squareAround([10, 20, 30, 80], 1.5)).toEqual({ cx: 20, cy: 50, side: 90 });
    expect(squareAround([10, 10, 11, 11], 1, 8).side).toBe(8);
  });

  it('maps the crop to cropAndResize coordinates with pixel centres aligned', () => {
    // The whole of a 10×10 image at 10×10 is the identity: corners at the first and last pixel centres.
    const f = frameOf(10, 10);
    const b = cropBox(wholeImageCrop(f), f, 10);
    b.forEach((v, i) => expect(v).toBeCloseTo([0, 0, 1, 1][i]!, 12));
    // Halving: output pixel 0 covers input pixels 0..1, its centre at input coordinate 0.5.
    const half = cropBox({ cx: 5, cy: 5, side: 10 }, f, 5);
    expect(half[1] * 9).toBeCloseTo(0.5, 12);
    expect(half[3] * 9).toBeCloseTo(8.5, 12);
  });

  it('maps the letterbox bars outside 0..1 for a non-square image', () => {
    const f = frameOf(200, 100);
    const [y0, x0, y1, x1] = cropBox(wholeImageCrop(f), f, 200);
    expect(x0).toBeCloseTo(0, 12);
    expect(x1).toBeCloseTo(1, 12);
    // 50 px of bar above and below: the first sample row is at -50 (in pixel-centre units).
    expect(y0 * 99).toBeCloseTo(-50, 9);
    expect(y1 * 99).toBeCloseTo(149, 9);
  });

  it('maps model output (0..1 over the crop) back to pixels and to normalised boxes', () => {
    const crop = { cx: 100, cy: 50, side: 40 };
    expect(cropToPixels(0, 0, crop)).toEqual([80, 30]);
    expect(cropToPixels(1, 0.5, crop)).toEqual([120, 50]);
    expect(toNormBox([80, 30, 120, 70], frameOf(200, 100))).toEqual([0.4, 0.3, 0.6, 0.7]);
    // clamped and ordered
    expect(toNormBox([-10, 120, 250, 10], frameOf(200, 100))).toEqual([0, 0.1, 1, 1]);
    // normalised by the frame, not the (pooled, truncated) tensor
    expect(toNormBox([0, 0, 100, 50], frameOf(100, 50, 100.5, 50.25))[2]).toBeCloseTo(100 / 100.5, 4);
  });
});

describe('face tiles', () => {
  it('covers the frame with 2–4 overlapping squares of 0.625 × the longer side', () => {
    const t = faceTiles(frameOf(640, 424), 256);
    expect(t).toHaveLength(4);
    for (const c of t) expect(c.side).toBe(400);
    expect(t.map((c) => c.cx)).toEqual([200, 440, 200, 440]);
    expect(t.map((c) => c.cy)).toEqual([200, 200, 224, 224]);
    // the union reaches every edge
    expect(Math.min(...t.map((c) => c.cx - c.side / 2))).toBe(0);
    expect(Math.max(...t.map((c) => c.cx + c.side / 2))).toBe(640);
    expect(Math.max(...t.map((c) => c.cy + c.side / 2))).toBe(424);
  });

  it('uses one row for a panorama and none for a small image', () => {
    const pano = faceTiles(frameOf(1500, 500), 256);
    expect(pano).toHaveLength(2);
    expect(pano.every((c) => c.cy === 250)).toBe(true);
    expect(faceTiles(frameOf(300, 200), 256)).toEqual([]);
  });
});

describe('pooling', () => {
  it('picks the smallest integer factor that fits', () => {
    expect(poolFactor(640, 424, 1280)).toBe(1);
    expect(poolFactor(1352, 900, 1280)).toBe(2);
    expect(poolFactor(4000, 3000, 1280)).toBe(4);
    expect(poolFactor(10_000, 3, 1280)).toBe(3); // never below one pixel
  });

  it('is a float copy at factor 1', () => {
    const img = { width: 2, height: 1, rgb: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    expect(Array.from(poolRgb(img, 1).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('averages k×k blocks and drops the remainder', () => {
    // 5×3 image, channel r = x, g = y, b = 10x + y
    const w = 5;
    const h = 3;
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) rgb.set([x, y, 10 * x + y], (y * w + x) * 3);
    const p = poolRgb({ width: w, height: h, rgb }, 2);
    expect([p.width, p.height]).toEqual([2, 1]);
    expect(Array.from(p.data)).toEqual([0.5, 0.5, 5.5, 2.5, 0.5, 25.5]);
  });

  it('rejects bad factors', () => {
    const img = { width: 2, height: 2, rgb: new Uint8Array(12) };
    expect(() => poolRgb(img, 0)).toThrow(RangeError);
    expect(() => poolRgb(img, 3)).toThrow(RangeError);
  });
});
