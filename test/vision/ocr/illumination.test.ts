import { describe, expect, it } from 'vitest';
import { flattenIllumination, toGrey, toPgm } from '../../../src/vision/ocr/illumination.js';
import type { RgbImage } from '../../../src/vision/ocr/types.js';

/** A page lit from the right (paper 60 at the left edge → 230 at the right), `ink` marks. */
function shadedPage(width: number, height: number, ink: (x: number, y: number) => number | undefined): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const light = 60 + (170 * x) / (width - 1);
      const v = Math.round(light * (ink(x, y) ?? 1));
      rgb.fill(v, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  return { width, height, rgb };
}

/** Thin strokes: 2-px bars every 12 px on rows 20-30 and 60-70 (a few lines of "letters"). */
const strokes = (x: number, y: number): number | undefined => ((y >= 20 && y < 30) || (y >= 60 && y < 70)) && x % 12 < 2 ? 0.3 : undefined;

describe('flattenIllumination', () => {
  it('puts the paper at one level across a shadow, ink clearly darker on both sides', () => {
    const img = shadedPage(400, 100, strokes);
    const before = toGrey(img);
    const after = flattenIllumination(img);
    const at = (g: { width: number; grey: Uint8Array }, x: number, y: number): number => g.grey[y * g.width + x]!;
    // Before: the paper in the shadow (x≈5) is darker than the ink in the light (x≈397).
    expect(at(before, 5, 45)).toBeLessThan(at(before, 396, 25));
    // After: paper is mid-grey everywhere, ink well below it on both sides.
    // (Within 16: the outer half tile takes its level from the tile next to it.)
    for (const x of [5, 100, 200, 300, 395]) expect(Math.abs(at(after, x, 45) - 128)).toBeLessThanOrEqual(16);
    for (const x of [0, 12, 204, 396]) expect(at(after, x, 25)).toBeLessThan(128 - 60);
    // And it says the lighting was uneven; the same page lit evenly is not.
    expect(after.spread).toBeGreaterThan(0.5);
    const even = flattenIllumination({ ...img, rgb: img.rgb.map((_, i) => (strokes(Math.floor(i / 3) % 400, Math.floor(i / 1200)) ? 60 : 220)) });
    expect(even.spread).toBe(0);
  });

  it('keeps light text on a dark background lighter than it', () => {
    const w = 200;
    const h = 80;
    const rgb = new Uint8Array(w * h * 3).fill(30);
    for (let y = 30; y < 40; y++) for (let x = 0; x < w; x += 10) rgb.fill(230, (y * w + x) * 3, (y * w + x + 2) * 3);
    const out = flattenIllumination({ width: w, height: h, rgb });
    expect(out.grey[5 * w + 5]).toBeGreaterThanOrEqual(120);
    expect(out.grey[5 * w + 5]).toBeLessThanOrEqual(136);
    expect(out.grey[35 * w + 10]).toBe(255);
  });

  it('handles images smaller than a tile and rejects a wrong buffer size', () => {
    const one = flattenIllumination({ width: 1, height: 1, rgb: new Uint8Array([200, 200, 200]) });
    expect(one).toEqual({ width: 1, height: 1, grey: new Uint8Array([128]), spread: 0 });
    expect(() => flattenIllumination({ width: 2, height: 2, rgb: new Uint8Array(3) })).toThrow(/2x2x3/);
  });

  it('writes a binary PGM', () => {
    const pgm = toPgm({ width: 2, height: 1, grey: new Uint8Array([0, 255]) });
    expect(pgm.subarray(0, 11).toString('latin1')).toBe('P5\n2 1\n255\n');
    expect([...pgm.subarray(11)]).toEqual([0, 255]);
    expect(() => toPgm({ width: 2, height: 2, grey: new Uint8Array(1) })).toThrow(/2x2/);
  });
});
