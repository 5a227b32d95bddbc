/**
 * Polygons (normalised image coordinates, as Florence-2 segments) → the mask Gemini sends:
 * an 8-bit grey probability map of the box region, 255 inside, 0 outside. Pure apart from
 * the PNG encoding, which is the offline SAM path's own (`encodeMaskPng`).
 */
import type { NormBox } from '../../vision/analysis.js';
import { encodeMaskPng } from '../../vision/segment/mask-png.js';

export type Point = [number, number];
export type Polygon = Point[];

export const MAX_MASK_SIDE = 256;

/** Bounds of every polygon's points, clamped to the image; undefined when there is no area. */
export function polygonsBounds(polygons: readonly Polygon[]): NormBox | undefined {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const poly of polygons)
    for (const [x, y] of poly) {
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  const c = (v: number) => Math.min(1, Math.max(0, v));
  const box: NormBox = [c(x0), c(y0), c(x1), c(y1)];
  return box[2] > box[0] && box[3] > box[1] ? box : undefined;
}

/** Mask size: the box's own pixel size in the image, long side capped at `maxSide`, at least 1×1. */
export function maskSize(box: NormBox, imageWidth: number, imageHeight: number, maxSide = MAX_MASK_SIDE): { width: number; height: number } {
  const w = (box[2] - box[0]) * imageWidth;
  const h = (box[3] - box[1]) * imageHeight;
  const scale = Math.min(1, maxSide / Math.max(w, h));
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

/**
 * Scanline fill at pixel centres, even-odd per polygon (so a self-touching outline stays
 * filled), polygons OR-ed together (so overlapping pieces of one object do not cancel).
 */
export function rasterisePolygons(polygons: readonly Polygon[], box: NormBox, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const bw = box[2] - box[0];
  const bh = box[3] - box[1];
  for (const poly of polygons) {
    if (poly.length < 3) continue;
    // To mask pixel units.
    const pts = poly.map(([x, y]) => [((x - box[0]) / bw) * width, ((y - box[1]) / bh) * height] as const);
    for (let row = 0; row < height; row++) {
      const yc = row + 0.5;
      const xs: number[] = [];
      for (let i = 0; i < pts.length; i++) {
        const [ax, ay] = pts[i]!;
        const [bx, by] = pts[(i + 1) % pts.length]!;
        // Half-open rule on y so a vertex on the scanline is counted once.
        if (ay <= yc !== by <= yc) xs.push(ax + ((yc - ay) / (by - ay)) * (bx - ax));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const from = Math.max(0, Math.ceil(xs[k]! - 0.5));
        const to = Math.min(width - 1, Math.floor(xs[k + 1]! - 0.5));
        for (let col = from; col <= to; col++) out[row * width + col] = 255;
      }
    }
  }
  return out;
}

/** Polygons → box + mask PNG data URL, or undefined when the polygons enclose nothing. */
export async function polygonsToMask(
  polygons: readonly Polygon[],
  imageWidth: number,
  imageHeight: number,
  maxSide = MAX_MASK_SIDE,
): Promise<{ box: NormBox; png: string } | undefined> {
  const box = polygonsBounds(polygons);
  if (!box) return undefined;
  const { width, height } = maskSize(box, imageWidth, imageHeight, maxSide);
  const probs = rasterisePolygons(polygons, box, width, height);
  if (!probs.some((v) => v > 0)) return undefined;
  return { box, png: await encodeMaskPng({ width, height, probs }) };
}
