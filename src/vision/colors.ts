/**
 * Dominant colours and brightness, measured on pixels. Colours are found by k-means in
 * CIELAB (where distance matches perceived difference), seeded deterministically so the
 * same image always gives the same answer, and named by the nearest entry of a small
 * palette of everyday colour words.
 */
import type { RgbImage } from './thumbnail.js';

export interface DominantColour {
  name: string;
  /** `#rrggbb` of the cluster's mean colour. */
  hex: string;
  /** Share of the pixels, 0..1. */
  fraction: number;
}

type Lab = [number, number, number];

const PALETTE: Array<[string, [number, number, number]]> = [
  ['black', [0, 0, 0]],
  ['dark grey', [64, 64, 64]],
  ['grey', [128, 128, 128]],
  ['light grey', [192, 192, 192]],
  ['white', [255, 255, 255]],
  ['red', [200, 30, 30]],
  ['dark red', [120, 20, 20]],
  ['pink', [240, 150, 180]],
  ['orange', [240, 140, 30]],
  ['brown', [130, 80, 40]],
  ['beige', [220, 200, 160]],
  ['yellow', [240, 220, 40]],
  ['olive', [120, 120, 40]],
  ['green', [40, 160, 50]],
  ['dark green', [20, 80, 30]],
  ['teal', [30, 130, 130]],
  ['light blue', [140, 190, 240]],
  ['blue', [40, 80, 200]],
  ['navy', [20, 30, 90]],
  ['purple', [120, 50, 150]],
];
const PALETTE_LAB = PALETTE.map(([name, rgb]) => [name, rgbToLab(...rgb)] as const);

/** An sRGB channel (0..255) made linear. (Declared, not const: PALETTE_LAB above is built with them when the module loads.) */
function lin(c: number): number {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}
/** CIELAB's f(t). */
function f(t: number): number {
  return t > 216 / 24389 ? Math.cbrt(t) : (841 / 108) * t + 4 / 29;
}

export function rgbToLab(r: number, g: number, b: number): Lab {
  const [R, G, B] = [lin(r), lin(g), lin(b)];
  const x = (R * 0.4124 + G * 0.3576 + B * 0.1805) / 0.95047;
  const y = R * 0.2126 + G * 0.7152 + B * 0.0722;
  const z = (R * 0.0193 + G * 0.1192 + B * 0.9505) / 1.08883;
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

const dist2 = (a: Lab, b: Lab) => (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2;

export function nameColour(r: number, g: number, b: number): string {
  const lab = rgbToLab(r, g, b);
  let best = PALETTE_LAB[0]!;
  for (const entry of PALETTE_LAB) if (dist2(lab, entry[1]) < dist2(lab, best[1])) best = entry;
  return best[0];
}

const hex = (r: number, g: number, b: number) =>
  `#${[r, g, b].map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')}`;

/** Mean Rec. 601 luma, 0 (black) .. 1 (white). */
export function meanBrightness(img: RgbImage): number {
  let sum = 0;
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) sum += 0.299 * img.rgb[i * 3]! + 0.587 * img.rgb[i * 3 + 1]! + 0.114 * img.rgb[i * 3 + 2]!;
  return n === 0 ? 0 : sum / n / 255;
}

/** `lin` of each 8-bit value, computed once: a thumbnail's pixels then cost no `** 2.4` each. */
const LINEAR = Float64Array.from({ length: 256 }, (_, c) => lin(c));

/** rgbToLab of every pixel, flat (L, a, b, L, a, b, …): the same arithmetic in the same order, so the same numbers. */
function labsOf(rgb: Uint8Array, n: number): Float64Array {
  const labs = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const R = LINEAR[rgb[i * 3]!]!;
    const G = LINEAR[rgb[i * 3 + 1]!]!;
    const B = LINEAR[rgb[i * 3 + 2]!]!;
    const fx = f((R * 0.4124 + G * 0.3576 + B * 0.1805) / 0.95047);
    const fy = f(R * 0.2126 + G * 0.7152 + B * 0.0722);
    const fz = f((R * 0.0193 + G * 0.1192 + B * 0.9505) / 1.08883);
    labs[i * 3] = 116 * fy - 16;
    labs[i * 3 + 1] = 500 * (fx - fy);
    labs[i * 3 + 2] = 200 * (fy - fz);
  }
  return labs;
}

/** Squared distance between the Lab triples at `a` (index into `xs`) and `b` (into `ys`). */
function d2(xs: Float64Array, a: number, ys: Float64Array, b: number): number {
  const d0 = xs[a]! - ys[b]!;
  const d1 = xs[a + 1]! - ys[b + 1]!;
  const d2_ = xs[a + 2]! - ys[b + 2]!;
  return d0 * d0 + d1 * d1 + d2_ * d2_;
}

/** Farthest-point seeding from the first pixel: deterministic and spreads the seeds. Returns how many. */
function seed(labs: Float64Array, n: number, centres: Float64Array): number {
  const most = centres.length / 3;
  centres.set(labs.subarray(0, 3), 0);
  let count = 1;
  const nearest = new Float64Array(n);
  for (let i = 0; i < n; i++) nearest[i] = d2(labs, i * 3, centres, 0);
  while (count < most) {
    let far = 0;
    for (let i = 1; i < n; i++) if (nearest[i]! > nearest[far]!) far = i;
    if (nearest[far] === 0) break;
    centres.set(labs.subarray(far * 3, far * 3 + 3), count * 3);
    count++;
    for (let i = 0; i < n; i++) nearest[i] = Math.min(nearest[i]!, d2(labs, i * 3, labs, far * 3));
  }
  return count;
}

/**
 * One k-means step: puts each pixel in its nearest cluster (the first of equals) and sums
 * the clusters' pixels (L, a, b, count; in pixel order) in the same pass. Returns whether
 * any pixel changed cluster.
 */
function assignPass(labs: Float64Array, n: number, centres: Float64Array, count: number, assign: Int32Array, sums: Float64Array): boolean {
  let moved = false;
  sums.fill(0);
  for (let i = 0; i < n; i++) {
    const L = labs[i * 3]!;
    const A = labs[i * 3 + 1]!;
    const B = labs[i * 3 + 2]!;
    let best = 0;
    let e0 = L - centres[0]!;
    let e1 = A - centres[1]!;
    let e2 = B - centres[2]!;
    let bestD = e0 * e0 + e1 * e1 + e2 * e2;
    for (let c = 1, o = 3; c < count; c++, o += 3) {
      e0 = L - centres[o]!;
      e1 = A - centres[o + 1]!;
      e2 = B - centres[o + 2]!;
      const d = e0 * e0 + e1 * e1 + e2 * e2;
      if (d < bestD) {
        best = c;
        bestD = d;
      }
    }
    if (assign[i] !== best) moved = true;
    assign[i] = best;
    const s = best * 4;
    sums[s] = sums[s]! + L;
    sums[s + 1] = sums[s + 1]! + A;
    sums[s + 2] = sums[s + 2]! + B;
    sums[s + 3] = sums[s + 3]! + 1;
  }
  return moved;
}

/**
 * Up to `k` dominant colours, largest first. Clusters whose names coincide are merged, and
 * colours under `minFraction` of the image are dropped (noise, not an answer).
 *
 * This runs on the event loop for every image an answer describes, while the models work
 * in their threads, so it is kept to about a millisecond for a 64×64 thumbnail: flat typed
 * arrays, each distance computed once, the cluster sums taken in the assignment pass. The
 * arrays of [L, a, b] tuples it replaced cost 5–15 ms, which in a burst of admitted
 * captions added up to hundreds of ms of held loop (bench suite "burst"). The arithmetic
 * and its order are the same, so the answers are the same to the bit.
 */
export function dominantColours(img: RgbImage, k = 5, minFraction = 0.05): DominantColour[] {
  const n = img.width * img.height;
  if (n === 0) return [];
  const labs = labsOf(img.rgb, n);
  // k < 1 still gives the one colour seeded from the first pixel, as it always did.
  const centres = new Float64Array(Math.max(1, Math.min(k, n)) * 3);
  const count = seed(labs, n, centres);

  const assign = new Int32Array(n);
  const sums = new Float64Array(count * 4);
  for (let iter = 0; iter < 12; iter++) {
    const moved = assignPass(labs, n, centres, count, assign, sums);
    for (let c = 0; c < count; c++) {
      const m = sums[c * 4 + 3]!;
      if (m > 0) {
        centres[c * 3] = sums[c * 4]! / m;
        centres[c * 3 + 1] = sums[c * 4 + 1]! / m;
        centres[c * 3 + 2] = sums[c * 4 + 2]! / m;
      }
    }
    if (!moved && iter > 0) break;
  }

  // Average the clusters in RGB (for the hex) and merge those with the same name.
  const acc = new Map<string, { r: number; g: number; b: number; count: number }>();
  const rgbSums = new Float64Array(count * 4);
  for (let i = 0; i < n; i++) {
    const s = assign[i]! * 4;
    rgbSums[s] = rgbSums[s]! + img.rgb[i * 3]!;
    rgbSums[s + 1] = rgbSums[s + 1]! + img.rgb[i * 3 + 1]!;
    rgbSums[s + 2] = rgbSums[s + 2]! + img.rgb[i * 3 + 2]!;
    rgbSums[s + 3] = rgbSums[s + 3]! + 1;
  }
  for (let c = 0; c < count; c++) {
    const size = rgbSums[c * 4 + 3]!;
    if (size === 0) continue;
    const [r, g, b] = [rgbSums[c * 4]! / size, rgbSums[c * 4 + 1]! / size, rgbSums[c * 4 + 2]! / size];
    const name = nameColour(r, g, b);
    const prev = acc.get(name) ?? { r: 0, g: 0, b: 0, count: 0 };
    acc.set(name, { r: prev.r + r * size, g: prev.g + g * size, b: prev.b + b * size, count: prev.count + size });
  }
  return [...acc.entries()]
    .map(([name, s]) => ({ name, hex: hex(s.r / s.count, s.g / s.count, s.b / s.count), fraction: s.count / n }))
    .filter((c) => c.fraction >= minFraction)
    .sort((a, b) => b.fraction - a.fraction);
}
