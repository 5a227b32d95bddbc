import { describe, expect, it } from 'vitest';
import {
  SAM_FRAME,
  SAM_PIXEL_MEAN,
  SAM_PIXEL_STD,
  type RgbImage,
  frameGeometry,
  preprocessForSam,
  resizeRgb,
  toNormalisedChw,
} from '../../../src/vision/segment/preprocess.js';

const norm = (v: number, c: 0 | 1 | 2): number => (v - SAM_PIXEL_MEAN[c]) / SAM_PIXEL_STD[c];

/** w×h image where pixel (x,y) has RGB given by fn. */
function image(width: number, height: number, fn: (x: number, y: number) => [number, number, number]): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set(fn(x, y), (y * width + x) * 3);
  return { width, height, rgb };
}

describe('frameGeometry', () => {
  it('scales the longest side to 1024 and rounds half up, like ResizeLongestSide', () => {
    expect(frameGeometry(768, 576)).toEqual({ width: 768, height: 576, frameWidth: 1024, frameHeight: 768, scale: 1024 / 768, side: 1024 });
    expect(frameGeometry(4000, 3000)).toMatchObject({ frameWidth: 1024, frameHeight: 768, scale: 1024 / 4000 });
    expect(frameGeometry(576, 768)).toMatchObject({ frameWidth: 768, frameHeight: 1024 });
    expect(frameGeometry(1024, 1024)).toMatchObject({ frameWidth: 1024, frameHeight: 1024, scale: 1 });
    // 3000 * (1024/4000) = 768 exactly; 333 * (1024/1000) = 340.99 → 341
    expect(frameGeometry(1000, 333)).toMatchObject({ frameWidth: 1024, frameHeight: 341 });
    // never 0 wide
    expect(frameGeometry(1, 5000)).toMatchObject({ frameWidth: 1, frameHeight: 1024 });
  });
});

describe('toNormalisedChw', () => {
  it('normalises each channel with SAM mean/std, lays out CHW, zero-pads bottom/right', () => {
    // 3×2 image, distinct values per pixel and channel
    const img = image(3, 2, (x, y) => [10 * x + y, 100 + 10 * x + y, 200 + 10 * x + y]);
    const side = 4;
    const out = toNormalisedChw(img, side);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(3 * side * side);
    for (let c = 0 as 0 | 1 | 2; c < 3; c = (c + 1) as 0 | 1 | 2)
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++) {
          const v = out[c * side * side + y * side + x] as number;
          if (x < 3 && y < 2) expect(v).toBeCloseTo(norm(c * 100 + 10 * x + y, c), 5);
          else expect(v).toBe(0); // padding is 0 after normalisation
        }
  });

  it('maps the mean colour to 0 and keeps the channel order R,G,B', () => {
    const img = image(1, 1, () => [124, 116, 104]);
    const out = toNormalisedChw(img, 1);
    expect(out[0]).toBeCloseTo((124 - 123.675) / 58.395, 6);
    expect(out[1]).toBeCloseTo((116 - 116.28) / 57.12, 6);
    expect(out[2]).toBeCloseTo((104 - 103.53) / 57.375, 6);
  });

  it('rejects bad buffers and images larger than the frame', () => {
    expect(() => toNormalisedChw({ width: 2, height: 2, rgb: new Uint8Array(11) }, 4)).toThrow(RangeError);
    expect(() => toNormalisedChw(image(5, 1, () => [0, 0, 0]), 4)).toThrow(RangeError);
  });
});

describe('preprocessForSam', () => {
  it('resizes with sharp, keeps orientation, pads, normalises (tiny frame)', async () => {
    // 4×2: left half pure red, right half pure blue → frame 8: 8×4 inside an 8×8 square
    const img = image(4, 2, (x) => (x < 2 ? [255, 0, 0] : [0, 0, 255]));
    const side = 8;
    const { input, geometry } = await preprocessForSam(img, side);
    expect(geometry).toEqual({ width: 4, height: 2, frameWidth: 8, frameHeight: 4, scale: 2, side: 8 });
    expect(input.length).toBe(3 * 64);
    const at = (c: number, x: number, y: number): number => input[c * 64 + y * 8 + x] as number;
    for (let y = 0; y < 4; y++) {
      // far left is red, far right is blue (bilinear only blends near the middle)
      expect(at(0, 0, y)).toBeCloseTo(norm(255, 0), 4);
      expect(at(2, 0, y)).toBeCloseTo(norm(0, 2), 4);
      expect(at(0, 7, y)).toBeCloseTo(norm(0, 0), 4);
      expect(at(2, 7, y)).toBeCloseTo(norm(255, 2), 4);
      expect(at(1, 3, y)).toBeCloseTo(norm(0, 1), 4);
    }
    for (let c = 0; c < 3; c++) for (let y = 4; y < 8; y++) for (let x = 0; x < 8; x++) expect(at(c, x, y)).toBe(0);
  });

  it('produces the full 1×3×1024×1024 input for a real-sized image, and downsizes big ones', async () => {
    const img = image(2000, 1000, () => [124, 116, 104]);
    const { input, geometry } = await preprocessForSam(img);
    expect(input.length).toBe(3 * SAM_FRAME * SAM_FRAME);
    expect(geometry).toMatchObject({ frameWidth: 1024, frameHeight: 512 });
    expect(input[0]).toBeCloseTo((124 - 123.675) / 58.395, 4); // uniform colour survives the resize
    expect(input[511 * 1024 + 1023]).toBeCloseTo((124 - 123.675) / 58.395, 4);
    expect(input[512 * 1024]).toBe(0);
  });

  it('resizeRgb returns the same image when the size already matches', async () => {
    const img = image(3, 3, () => [1, 2, 3]);
    expect(await resizeRgb(img, 3, 3)).toBe(img);
    const up = await resizeRgb(img, 6, 6);
    expect(up.rgb.length).toBe(6 * 6 * 3);
    expect(Array.from(up.rgb.subarray(0, 3))).toEqual([1, 2, 3]);
  });
});
