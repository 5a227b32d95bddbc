/**
 * Dominant colours (src/vision/colors.ts). The k-means was rewritten on flat typed arrays to
 * keep it off the event loop's budget (about 1 ms per 64×64 thumbnail instead of 5–15 ms);
 * the answers must stay those of the tuple version it replaced. The pinned answers below
 * were computed by that version on the same synthetic scenes.
 */
import { describe, expect, it } from 'vitest';
import { dominantColours } from '../../src/vision/colors.js';

/** A photo-like image: a sky-to-grass gradient, a red disc, and noise from a fixed LCG. */
function scene(w: number, h: number) {
  const rgb = new Uint8Array(w * h * 3);
  let s = 12345;
  const noise = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 40;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      let px = y < h * 0.55 ? [90 + y, 150 + y, 230] : [60, 140 - (y - h * 0.55), 40];
      if ((x - w * 0.6) ** 2 + (y - h * 0.4) ** 2 < (w * 0.18) ** 2) px = [200, 30, 35];
      for (let k = 0; k < 3; k++) rgb[i + k] = Math.max(0, Math.min(255, Math.round(px[k]! + noise())));
    }
  return { width: w, height: h, rgb };
}

function solid(width: number, height: number, rgb: [number, number, number]) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, rgb: data };
}

describe('dominantColours', () => {
  it('gives the tuple version’s answers to the bit on a noisy scene (a thumbnail, with two sky clusters merged under one name)', () => {
    expect(dominantColours(scene(64, 64))).toEqual([
      { name: 'light blue', hex: '#6aa6e6', fraction: 0.4638671875 },
      { name: 'green', hex: '#3b8724', fraction: 0.227783203125 },
      { name: 'dark green', hex: '#3e732c', fraction: 0.206298828125 },
      { name: 'red', hex: '#c81f23', fraction: 0.10205078125 },
    ]);
  });

  it('gives the tuple version’s answers for a box’s 32×32 copy (5 colours down to 8%) and for more clusters', () => {
    expect(dominantColours(scene(32, 32), 5, 0.08)).toEqual([
      { name: 'light blue', hex: '#629ee6', fraction: 0.4677734375 },
      { name: 'dark green', hex: '#3d7c2c', fraction: 0.2353515625 },
      { name: 'green', hex: '#3b8e24', fraction: 0.197265625 },
      { name: 'red', hex: '#c91f24', fraction: 0.099609375 },
    ]);
    expect(dominantColours(scene(64, 64), 8, 0.01)).toEqual([
      { name: 'light blue', hex: '#6aa6e6', fraction: 0.4638671875 },
      { name: 'green', hex: '#3c8326', fraction: 0.327392578125 },
      { name: 'dark green', hex: '#3e6d2d', fraction: 0.106689453125 },
      { name: 'red', hex: '#c81f23', fraction: 0.10205078125 },
    ]);
  });

  it('answers one colour for a solid image, a single pixel, k = 1 and k < 1, and nothing for an empty image', () => {
    const one = [{ name: 'blue', hex: '#1428d2', fraction: 1 }];
    expect(dominantColours(solid(16, 16, [20, 40, 210]))).toEqual(one);
    expect(dominantColours(solid(1, 1, [20, 40, 210]))).toEqual(one);
    expect(dominantColours(scene(16, 16), 1)).toHaveLength(1);
    expect(dominantColours(scene(16, 16), 0)).toHaveLength(1);
    expect(dominantColours({ width: 0, height: 0, rgb: new Uint8Array(0) })).toEqual([]);
  });

  it('merges clusters that share a name, and drops colours under the minimum share', () => {
    const img = solid(10, 10, [200, 30, 30]);
    for (let i = 0; i < 50; i++) img.rgb.set([230, 20, 20], i * 3); // another red
    for (let i = 50; i < 53; i++) img.rgb.set([20, 40, 210], i * 3); // 3% blue
    const colours = dominantColours(img);
    expect(colours.map((c) => c.name)).toEqual(['red']);
    expect(colours[0]!.fraction).toBeCloseTo(0.97, 10);
    expect(dominantColours(img, 5, 0.01).map((c) => c.name)).toEqual(['red', 'blue']);
  });

  it('reads a Buffer view into a larger buffer (as sharp returns them) the same as a fresh array', () => {
    const img = scene(32, 32);
    const big = Buffer.alloc(img.rgb.length + 9);
    big.set(img.rgb, 9);
    expect(dominantColours({ ...img, rgb: big.subarray(9) })).toEqual(dominantColours(img));
  });
});
