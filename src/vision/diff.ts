/**
 * Where two images differ, measured on pixels. Both are brought to the same small grid
 * (so images of different sizes can be compared), the per-cell colour difference is
 * thresholded, and connected changed cells become boxes in Gemini's `box_2d` convention
 * ([ymin, xmin, ymax, xmax], integers 0–1000 of the image).
 */
import type { RgbImage } from './thumbnail.js';

export interface ChangedRegion {
  box_2d: [number, number, number, number];
  /** Share of the image's area the region covers, 0..1. */
  area: number;
}

export interface ImageDifference {
  /** Share of grid cells that changed, 0..1. */
  changedFraction: number;
  /** Mean absolute channel difference over the whole image, 0..1. */
  meanDifference: number;
  regions: ChangedRegion[];
}

/** A cell changed when its mean channel difference exceeds this (0..255). */
const CELL_THRESHOLD = 24;

/** Both images must already be the same size (see thumbnail.ts). */
export function compareImages(a: RgbImage, b: RgbImage): ImageDifference {
  if (a.width !== b.width || a.height !== b.height) throw new Error('compareImages needs images of equal size');
  const { width, height } = a;
  const changed = new Uint8Array(width * height);
  let total = 0;
  let count = 0;
  for (let i = 0; i < width * height; i++) {
    const d =
      (Math.abs(a.rgb[i * 3]! - b.rgb[i * 3]!) +
        Math.abs(a.rgb[i * 3 + 1]! - b.rgb[i * 3 + 1]!) +
        Math.abs(a.rgb[i * 3 + 2]! - b.rgb[i * 3 + 2]!)) /
      3;
    total += d;
    if (d > CELL_THRESHOLD) {
      changed[i] = 1;
      count++;
    }
  }
  return {
    changedFraction: count / (width * height),
    meanDifference: total / (width * height) / 255,
    regions: changedRegions(changed, width, height),
  };
}

/** Connected components (8-neighbour) of changed cells, as boxes, largest first. */
export function changedRegions(mask: Uint8Array, width: number, height: number, minCells = 2): ChangedRegion[] {
  const seen = new Uint8Array(mask.length);
  const regions: ChangedRegion[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let [x0, y0, x1, y1, cells] = [width, height, 0, 0, 0];
    stack.push(start);
    seen[start] = 1;
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % width;
      const y = (i - x) / width;
      cells++;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const j = ny * width + nx;
          if (mask[j] && !seen[j]) {
            seen[j] = 1;
            stack.push(j);
          }
        }
    }
    if (cells < minCells) continue;
    const norm = (v: number, size: number) => Math.round((v / size) * 1000);
    regions.push({
      box_2d: [norm(y0, height), norm(x0, width), norm(y1 + 1, height), norm(x1 + 1, width)],
      area: ((x1 - x0 + 1) * (y1 - y0 + 1)) / (width * height),
    });
  }
  return regions.sort((a, b) => b.area - a.area);
}
