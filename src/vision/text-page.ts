/**
 * Does an image look like a page of text (a scan, a screenshot, a photographed page)?
 * A cheap measurement on the pixels, so a caption runs the text reader only where it can
 * matter: reading costs hundreds of milliseconds, this a few. Pure: no models.
 *
 * Printed text has a structure photos rarely have: a plain background covering most of
 * the image, ink a small share of it, the ink broken into many small marks of similar
 * height (letters), and those marks arranged in rows separated by blank gaps (lines).
 */
import type { RawImage } from './analysis.js';

export interface TextLikeness {
  /** Share of pixels on the ink side of the page's threshold. */
  ink: number;
  /** Share of pixels close to their neighbourhood's level: plain paper, not texture. */
  background: number;
  /** Runs of rows holding ink, separated by blank rows (text lines). */
  lines: number;
  /** Small ink marks (letter-sized connected components). */
  marks: number;
  /** All of the above within the ranges printed pages measure. */
  textLike: boolean;
}

/** Longest side measured: letters of a page photo stay several pixels tall, and it is cheap. */
const SIDE = 512;

export function measureTextLikeness(img: RawImage): TextLikeness {
  const scale = Math.min(1, SIDE / Math.max(img.width, img.height));
  const w = Math.max(1, Math.round(img.width * scale));
  const h = Math.max(1, Math.round(img.height * scale));
  const grey = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor(y / scale));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor(x / scale));
      const i = (sy * img.width + sx) * 3;
      grey[y * w + x] = (img.rgb[i]! * 299 + img.rgb[i + 1]! * 587 + img.rgb[i + 2]! * 114) / 1000;
    }
  }
  // A page is lit unevenly when photographed: ink is what is darker (or lighter) than its
  // neighbourhood, not than one global level. Compare each pixel with a local mean.
  const local = boxMean(grey, w, h, Math.max(4, Math.round(Math.min(w, h) / 24)));
  const hist = new Uint32Array(256);
  for (const v of grey) hist[v]!++;
  const median = percentile(hist, w * h, 0.5);
  // Dark ink on light paper is the common case; light ink on dark (a screen) the other.
  const darkInk = median >= 128;
  const ink = new Uint8Array(w * h);
  let inkCount = 0;
  let bgCount = 0;
  for (let i = 0; i < w * h; i++) {
    const d = darkInk ? local[i]! - grey[i]! : grey[i]! - local[i]!;
    if (d > 24) {
      ink[i] = 1;
      inkCount++;
    }
    if (Math.abs(grey[i]! - local[i]!) < 12) bgCount++;
  }
  const lines = countLines(ink, w, h);
  const marks = countMarks(ink, w, h);
  const inkShare = inkCount / (w * h);
  const background = bgCount / (w * h);
  const textLike = inkShare > 0.01 && inkShare < 0.35 && background > 0.5 && lines >= 3 && marks >= 40;
  return { ink: inkShare, background, lines, marks, textLike };
}

function percentile(hist: Uint32Array, n: number, q: number): number {
  let acc = 0;
  for (let v = 0; v < 256; v++) {
    acc += hist[v]!;
    if (acc >= n * q) return v;
  }
  return 255;
}

/** Mean over a (2r+1)² window, via an integral image. */
function boxMean(grey: Uint8Array, w: number, h: number, r: number): Float32Array {
  const sum = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += grey[y * w + x]!;
      sum[(y + 1) * (w + 1) + x + 1] = sum[y * (w + 1) + x + 1]! + row;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(w, x + r + 1);
      const s = sum[y1 * (w + 1) + x1]! - sum[y0 * (w + 1) + x1]! - sum[y1 * (w + 1) + x0]! + sum[y0 * (w + 1) + x0]!;
      out[y * w + x] = s / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/** Runs of rows with ink across a good part of the width, separated by (nearly) blank rows. */
function countLines(ink: Uint8Array, w: number, h: number): number {
  let lines = 0;
  let inLine = false;
  let run = 0;
  for (let y = 0; y < h; y++) {
    let n = 0;
    let first = w;
    let last = -1;
    for (let x = 0; x < w; x++)
      if (ink[y * w + x]) {
        n++;
        if (first === w) first = x;
        last = x;
      }
    const texty = n >= Math.max(2, 0.01 * w) && last - first > 0.2 * w;
    const blank = n <= 0.004 * w;
    if (texty) {
      run++;
      if (!inLine && run >= 2) {
        inLine = true;
        lines++;
      }
    } else if (blank) {
      inLine = false;
      run = 0;
    }
  }
  return lines;
}

/** Connected ink components (4-neighbour) of letter size: a few pixels to a tenth of the height. */
function countMarks(ink: Uint8Array, w: number, h: number): number {
  const seen = new Uint8Array(w * h);
  const stack: number[] = [];
  let marks = 0;
  const maxSide = Math.max(6, h / 10);
  for (let start = 0; start < w * h; start++) {
    if (!ink[start] || seen[start]) continue;
    seen[start] = 1;
    stack.push(start);
    let x0 = w;
    let x1 = 0;
    let y0 = h;
    let y1 = 0;
    let size = 0;
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % w;
      const y = (p - x) / w;
      size++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (x > 0 && ink[p - 1] && !seen[p - 1]) (seen[p - 1] = 1), stack.push(p - 1);
      if (x < w - 1 && ink[p + 1] && !seen[p + 1]) (seen[p + 1] = 1), stack.push(p + 1);
      if (y > 0 && ink[p - w] && !seen[p - w]) (seen[p - w] = 1), stack.push(p - w);
      if (y < h - 1 && ink[p + w] && !seen[p + w]) (seen[p + w] = 1), stack.push(p + w);
    }
    const bh = y1 - y0 + 1;
    const bw = x1 - x0 + 1;
    if (size >= 3 && bh >= 2 && bh <= maxSide && bw <= maxSide * 2) marks++;
  }
  return marks;
}
