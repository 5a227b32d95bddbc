import { describe, expect, it } from 'vitest';
import {
  componentExtremes,
  convexHull,
  cropQuad,
  minAreaRect,
  orderCorners,
  rectCorners,
  rotate90ccw,
  textRegions,
  unclipRect,
  type Pt,
  type Rgba,
} from '../../../src/vision/ocr/textboxes.js';

/** A width×height mask with the given axis-aligned rectangles (inclusive pixel ranges) set. */
function mask(width: number, height: number, rects: [number, number, number, number][]): Uint8Array {
  const m = new Uint8Array(width * height);
  for (const [x0, y0, x1, y1] of rects) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[y * width + x] = 1;
  return m;
}

/** RGBA with pixel value = f(x, y) in every colour channel. */
function rgba(width: number, height: number, f: (x: number, y: number) => number): Rgba {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = data[i + 1] = data[i + 2] = f(x, y);
      data[i + 3] = 255;
    }
  return { data, width, height };
}

describe('componentExtremes', () => {
  it('finds 8-connected components and keeps row extremes only', () => {
    const m = mask(10, 6, [
      [1, 1, 4, 2], // a block
      [5, 3, 5, 3], // touches the block diagonally: same component
      [8, 0, 9, 5], // separate
    ]);
    const comps = componentExtremes(m, 10, 6);
    expect(comps).toHaveLength(2);
    // Raster order: the column at x = 8..9 starts on row 0, so it is found first.
    const sorted = comps.map((c) => [...c].sort((a, b) => a[1] - b[1] || a[0] - b[0]));
    expect(sorted[1]).toEqual([
      [1, 1],
      [4, 1],
      [1, 2],
      [4, 2],
      [5, 3],
    ]);
    expect(sorted[0]).toHaveLength(12);
  });
  it('returns nothing for an empty mask', () => {
    expect(componentExtremes(new Uint8Array(16), 4, 4)).toEqual([]);
  });
});

describe('convexHull', () => {
  it('drops interior and collinear points', () => {
    const hull = convexHull([
      [0, 0],
      [2, 0],
      [4, 0],
      [4, 3],
      [0, 3],
      [2, 1],
    ]);
    expect(hull).toHaveLength(4);
    expect(new Set(hull.map((p) => p.join(',')))).toEqual(new Set(['0,0', '4,0', '4,3', '0,3']));
  });
});

describe('minAreaRect', () => {
  it('fits an axis-aligned rectangle exactly', () => {
    const r = minAreaRect([
      [10, 20],
      [50, 20],
      [50, 30],
      [10, 30],
      [30, 25],
    ]);
    expect(Math.max(r.w, r.h)).toBeCloseTo(40);
    expect(Math.min(r.w, r.h)).toBeCloseTo(10);
    expect(r.cx).toBeCloseTo(30);
    expect(r.cy).toBeCloseTo(25);
  });

  it('recovers the size and angle of a rotated rectangle', () => {
    const angle = (20 * Math.PI) / 180;
    const corners = rectCorners({ cx: 100, cy: 80, w: 120, h: 30, angle });
    // Points spread over the rectangle's outline.
    const pts: Pt[] = [];
    for (let i = 0; i < 4; i++) {
      const a = corners[i]!;
      const b = corners[(i + 1) % 4]!;
      for (let t = 0; t <= 1; t += 0.1) pts.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]);
    }
    const r = minAreaRect(pts);
    expect(r.w * r.h).toBeCloseTo(120 * 30, 3);
    expect(r.cx).toBeCloseTo(100);
    expect(r.cy).toBeCloseTo(80);
    const long = r.w >= r.h ? r.angle : r.angle + Math.PI / 2;
    const diff = Math.abs(Math.sin(long - angle)); // direction up to 180°
    expect(diff).toBeLessThan(1e-6);
  });

  it('degenerates gracefully', () => {
    expect(minAreaRect([]).w).toBe(0);
    expect(minAreaRect([[3, 4]])).toMatchObject({ cx: 3, cy: 4, w: 0, h: 0 });
    const line = minAreaRect([
      [0, 0],
      [10, 0],
    ]);
    expect(Math.min(line.w, line.h)).toBe(0);
  });
});

describe('corners and unclip', () => {
  it('orders corners top-left, top-right, bottom-right, bottom-left', () => {
    expect(
      orderCorners([
        [50, 30],
        [10, 20],
        [10, 30],
        [50, 20],
      ]),
    ).toEqual([
      [10, 20],
      [50, 20],
      [50, 30],
      [10, 30],
    ]);
  });

  it('grows each side by area × 1.5 / perimeter', () => {
    const r = unclipRect({ cx: 0, cy: 0, w: 100, h: 20, angle: 0.3 });
    const d = (100 * 20 * 1.5) / 240; // 12.5
    expect(r.w).toBeCloseTo(100 + 2 * d);
    expect(r.h).toBeCloseTo(20 + 2 * d);
    expect(r.angle).toBe(0.3);
  });
});

describe('crops', () => {
  it('copies an axis-aligned quad pixel for pixel', () => {
    const img = rgba(20, 10, (x, y) => x * 10 + y);
    const crop = cropQuad(
      img,
      [
        [5, 2],
        [14, 2],
        [14, 6],
        [5, 6],
      ],
      10,
      5,
    );
    expect(crop.width).toBe(10);
    expect(crop.height).toBe(5);
    for (let y = 0; y < 5; y++) for (let x = 0; x < 10; x++) expect(crop.data[(y * 10 + x) * 4]).toBe((x + 5) * 10 + (y + 2));
  });

  it('rotates 90° anticlockwise like numpy rot90', () => {
    // 3 wide, 2 tall: values 0 1 2 / 3 4 5 → 2 wide, 3 tall: 2 5 / 1 4 / 0 3
    const img = rgba(3, 2, (x, y) => y * 3 + x);
    const r = rotate90ccw(img);
    expect([r.width, r.height]).toEqual([2, 3]);
    expect(Array.from({ length: 6 }, (_, i) => r.data[i * 4])).toEqual([2, 5, 1, 4, 0, 3]);
  });
});

describe('textRegions', () => {
  it('turns blobs of a text map into unclipped boxes with upright crops', () => {
    const w = 64;
    const h = 32;
    const m = mask(w, h, [
      [10, 10, 40, 17], // a text line
      [50, 2, 50, 2], // a speck: dropped
    ]);
    const map = rgba(w, h, (x, y) => (m[y * w + x] ? 255 : 0));
    const source = rgba(w, h, (x) => x * 4);
    const regions = textRegions(map, source);
    expect(regions).toHaveLength(1);
    const [tl, tr, br, bl] = regions[0]!.box;
    // min rect 30×7 (pixel centres), grown by 30·7·1.5/74 ≈ 4.26 per side, clamped and rounded.
    expect(tl).toEqual([6, 6]);
    expect(tr).toEqual([44, 6]);
    expect(br).toEqual([44, 21]);
    expect(bl).toEqual([6, 21]);
    const crop = regions[0]!.image;
    expect([crop.width, crop.height]).toEqual([38, 15]);
    expect(crop.data[0]).toBe(24); // x = 6 in the source
  });

  it('scales boxes to a source of another size and turns vertical text upright', () => {
    const map = rgba(32, 64, (x, y) => (x >= 12 && x <= 18 && y >= 5 && y <= 55 ? 255 : 0));
    const source = rgba(64, 128, () => 200);
    const [region] = textRegions(map, source);
    expect(region).toBeDefined();
    for (const [x, y] of region!.box) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(64);
      expect(y).toBeLessThanOrEqual(128);
    }
    expect(region!.box[2][1] - region!.box[0][1]).toBeGreaterThan(100); // ~2× the map's 50+ rows
    expect(region!.image.width).toBeGreaterThan(region!.image.height); // rotated to a horizontal strip
  });
});
