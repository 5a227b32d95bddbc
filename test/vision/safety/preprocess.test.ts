import { describe, expect, it } from 'vitest';
import { axisWeights, boxReduce, resizeTriangle, toModelInput, type RgbImage } from '../../../src/vision/safety/preprocess.js';

function solid(width: number, height: number, [r, g, b]: [number, number, number]): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i += 3) {
    rgb[i] = r;
    rgb[i + 1] = g;
    rgb[i + 2] = b;
  }
  return { width, height, rgb };
}

/** Left half black, right half white. */
function halves(width: number, height: number): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = width / 2; x < width; x++) rgb.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
  return { width, height, rgb };
}

describe('axisWeights', () => {
  it.each([
    [1, 224],
    [100, 224],
    [224, 224],
    [500, 224],
    [4000, 224],
    [3, 1],
  ])('%i → %i: every row sums to 1, taps stay in range', (src, dst) => {
    const w = axisWeights(src, dst);
    for (let i = 0; i < dst; i++) {
      let sum = 0;
      for (let k = 0; k < w.count[i]!; k++) sum += w.weights[i * w.taps + k]!;
      expect(sum).toBeCloseTo(1, 5);
      expect(w.start[i]).toBeGreaterThanOrEqual(0);
      expect(w.start[i]! + w.count[i]!).toBeLessThanOrEqual(src);
    }
  });

  it('downscaling lets every source sample contribute', () => {
    const w = axisWeights(1000, 224);
    const touched = new Set<number>();
    for (let i = 0; i < 224; i++) for (let k = 0; k < w.count[i]!; k++) if (w.weights[i * w.taps + k]! > 0) touched.add(w.start[i]! + k);
    expect(touched.size).toBe(1000);
  });

  it('refuses empty or fractional sizes', () => {
    expect(() => axisWeights(0, 224)).toThrow(RangeError);
    expect(() => axisWeights(10, 0)).toThrow(RangeError);
    expect(() => axisWeights(10.5, 224)).toThrow(RangeError);
  });
});

describe('toModelInput', () => {
  it('is the identity (÷255) at the model size', () => {
    const img = solid(224, 224, [0, 0, 0]);
    for (let i = 0; i < img.rgb.length; i++) img.rgb[i] = (i * 7919) % 256;
    const out = toModelInput(img, 224);
    expect(out).toHaveLength(224 * 224 * 3);
    let worst = 0;
    for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - img.rgb[i]! / 255));
    expect(worst).toBeLessThan(1e-6);
  });

  it.each([
    [1, 1],
    [17, 3000],
    [500, 375],
    [1352, 900],
    [4000, 3000],
  ])('a uniform %ix%i image stays uniform, values in 0..1', (w, h) => {
    const out = toModelInput(solid(w, h, [255, 128, 0]), 224);
    expect(out).toHaveLength(224 * 224 * 3);
    const want = [1, 128 / 255, 0];
    let worst = 0;
    for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - want[i % 3]!));
    expect(worst).toBeLessThan(1e-3);
  });

  it('stretches the whole image (no crop, no letterbox) and keeps left/right', () => {
    for (const [w, h] of [
      [2000, 1000],
      [100, 60],
    ] as const) {
      const out = toModelInput(halves(w, h), 224);
      const at = (x: number, y: number) => out[(y * 224 + x) * 3]!;
      for (const y of [0, 111, 223]) {
        expect(at(0, y)).toBeCloseTo(0, 5);
        expect(at(100, y)).toBeCloseTo(0, 2);
        expect(at(123, y)).toBeCloseTo(1, 2);
        expect(at(223, y)).toBeCloseTo(1, 5);
        // Symmetric around the centre.
        let worst = 0;
        for (let x = 0; x < 112; x++) worst = Math.max(worst, Math.abs(at(x, y) + at(223 - x, y) - 1));
        expect(worst).toBeLessThan(1e-4);
      }
    }
  });

  it('refuses a buffer that does not match the size', () => {
    expect(() => toModelInput({ width: 10, height: 10, rgb: new Uint8Array(10) }, 224)).toThrow(/expected 300/);
    expect(() => toModelInput({ width: 0, height: 10, rgb: new Uint8Array(0) }, 224)).toThrow(RangeError);
  });
});

describe('boxReduce', () => {
  it('averages blocks, the last partial block over what it has', () => {
    // 5×1: values 0, 10, 20, 30, 40 (grey); kx=2 → (0+10)/2, (20+30)/2, 40.
    const img: RgbImage = { width: 5, height: 1, rgb: new Uint8Array([0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40]) };
    const out = boxReduce(img, 2, 1);
    expect(out.width).toBe(3);
    expect(out.height).toBe(1);
    expect([...out.rgb]).toEqual([5, 5, 5, 25, 25, 25, 40, 40, 40]);
  });

  it('reduces both axes', () => {
    const img = solid(7, 5, [9, 9, 9]);
    img.rgb.set([99, 99, 99], 0); // top-left pixel
    const out = boxReduce(img, 3, 2);
    expect([out.width, out.height]).toEqual([3, 3]);
    expect(out.rgb[0]).toBe(Math.round((99 + 5 * 9) / 6));
    expect(out.rgb[3]).toBe(9);
  });

  it('factors below 2 leave the image as is', () => {
    const img = solid(4, 4, [1, 2, 3]);
    expect(boxReduce(img, 1, 1)).toBe(img);
    expect(boxReduce(img, 0.5, 1.9)).toBe(img);
  });

  it('agrees with the plain triangle filter on smooth content', () => {
    const w = 2400;
    const h = 1800;
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        rgb[o] = Math.round((255 * x) / (w - 1));
        rgb[o + 1] = Math.round((255 * y) / (h - 1));
        rgb[o + 2] = 128;
      }
    const img = { width: w, height: h, rgb };
    const a = toModelInput(img, 224);
    const b = resizeTriangle(img, 224);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst).toBeLessThan(0.01);
  });
});
