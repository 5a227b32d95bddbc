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

export function rgbToLab(r: number, g: number, b: number): Lab {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const [R, G, B] = [lin(r), lin(g), lin(b)];
  const x = (R * 0.4124 + G * 0.3576 + B * 0.1805) / 0.95047;
  const y = R * 0.2126 + G * 0.7152 + B * 0.0722;
  const z = (R * 0.0193 + G * 0.1192 + B * 0.9505) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (841 / 108) * t + 4 / 29);
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

/**
 * Up to `k` dominant colours, largest first. Clusters whose names coincide are merged, and
 * colours under `minFraction` of the image are dropped (noise, not an answer).
 */
export function dominantColours(img: RgbImage, k = 5, minFraction = 0.05): DominantColour[] {
  const n = img.width * img.height;
  if (n === 0) return [];
  const labs: Lab[] = new Array(n);
  for (let i = 0; i < n; i++) labs[i] = rgbToLab(img.rgb[i * 3]!, img.rgb[i * 3 + 1]!, img.rgb[i * 3 + 2]!);

  // Farthest-point seeding from the first pixel: deterministic and spreads the seeds.
  const centres: Lab[] = [labs[0]!];
  const nearest = labs.map((p) => dist2(p, centres[0]!));
  while (centres.length < Math.min(k, n)) {
    let far = 0;
    for (let i = 1; i < n; i++) if (nearest[i]! > nearest[far]!) far = i;
    if (nearest[far] === 0) break;
    centres.push(labs[far]!);
    for (let i = 0; i < n; i++) nearest[i] = Math.min(nearest[i]!, dist2(labs[i]!, labs[far]!));
  }

  const assign = new Int32Array(n);
  for (let iter = 0; iter < 12; iter++) {
    let moved = false;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < centres.length; c++) if (dist2(labs[i]!, centres[c]!) < dist2(labs[i]!, centres[best]!)) best = c;
      if (assign[i] !== best) moved = true;
      assign[i] = best;
    }
    const sums = centres.map(() => [0, 0, 0, 0]);
    for (let i = 0; i < n; i++) {
      const s = sums[assign[i]!]!;
      s[0]! += labs[i]![0];
      s[1]! += labs[i]![1];
      s[2]! += labs[i]![2];
      s[3]! += 1;
    }
    sums.forEach((s, c) => {
      if (s[3]! > 0) centres[c] = [s[0]! / s[3]!, s[1]! / s[3]!, s[2]! / s[3]!];
    });
    if (!moved && iter > 0) break;
  }

  // Average the clusters in RGB (for the hex) and merge those with the same name.
  const acc = new Map<string, { r: number; g: number; b: number; count: number }>();
  const rgbSums = centres.map(() => [0, 0, 0, 0]);
  for (let i = 0; i < n; i++) {
    const s = rgbSums[assign[i]!]!;
    s[0]! += img.rgb[i * 3]!;
    s[1]! += img.rgb[i * 3 + 1]!;
    s[2]! += img.rgb[i * 3 + 2]!;
    s[3]! += 1;
  }
  for (const s of rgbSums) {
    if (s[3] === 0) continue;
    const [r, g, b, count] = [s[0]! / s[3]!, s[1]! / s[3]!, s[2]! / s[3]!, s[3]!];
    const name = nameColour(r, g, b);
    const prev = acc.get(name) ?? { r: 0, g: 0, b: 0, count: 0 };
    acc.set(name, { r: prev.r + r * count, g: prev.g + g * count, b: prev.b + b * count, count: prev.count + count });
  }
  return [...acc.entries()]
    .map(([name, s]) => ({ name, hex: hex(s.r / s.count, s.g / s.count, s.b / s.count), fraction: s.count / n }))
    .filter((c) => c.fraction >= minFraction)
    .sort((a, b) => b.fraction - a.fraction);
}
