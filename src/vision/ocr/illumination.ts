/**
 * Evens out the lighting of an image before tesseract reads it.
 *
 * Why: tesseract binarises the whole page with one Otsu threshold and its LSTM reads the
 * grey line images as they are. A photographed or scanned page that is darker on one side
 * (skimage's `page.png`: the left third is in shadow) is split by that one threshold into
 * "all ink" on the dark side and clean text on the light side, so the layout analysis sees
 * a black blob where the line starts are and keeps only the right-hand part of every line:
 * "-based segmentation" for "Region-based segmentation", "ese markers are pixels…" for
 * "background. These markers are pixels…". Tesseract's own alternatives do not fix it:
 * Leptonica's tiled Otsu and Sauvola (`thresholding_method` 1 and 2) binarise better but
 * the LSTM still sees the dark grey background and reads "LEBNUS first" for "Let us first".
 *
 * What: the local background level is estimated as the median of tiles about a twelfth of
 * the long side (ink is a small share of a tile, so the median is the paper whether the text
 * is dark on light or light on dark), smoothed across neighbouring tiles and interpolated
 * bilinearly; every pixel then becomes mid-grey plus its deviation from that background,
 * relative to the background's brightness (a shadow lowers paper and ink in proportion, so
 * the ratio is what stays constant). Dark ink ends up dark and light ink light on a uniform
 * grey page, which both tesseract's binarisation and its inverted-text check handle.
 * `spread` says how uneven the lighting was, so evenly lit images can skip all this.
 *
 * Pure TypeScript: sharp has no local-median background filter (its `median` is a small
 * window at full resolution, far too slow at the tile sizes needed here, and `clahe`
 * equalises contrast but keeps the shadow: measured worse on page.png, 0.54 vs 0.88).
 */
import type { RgbImage } from './types.js';

/** One byte per pixel, row-major. */
export interface GreyImage {
  width: number;
  height: number;
  grey: Uint8Array;
}

export interface FlattenedImage extends GreyImage {
  /**
   * How unevenly lit the image was: the spread of its background levels, (p90 − p10) / p90
   * over the tiles. 0 for an evenly lit scan or a render.
   */
  spread: number;
}

/** Tiles per long side for the background estimate. */
const TILES = 12;
/** Smallest tile, in pixels: a tile must hold several letters' worth of paper. */
const MIN_TILE = 16;
/** The level the background is moved to, and the gain of deviations relative to it. */
const MID = 128;
/** Backgrounds darker than this are treated as this dark (no division by near-zero). */
const DARKEST_BACKGROUND = 24;

/** Rec. 601 luma, rounded down. */
export function toGrey(img: RgbImage): GreyImage {
  const n = img.width * img.height;
  if (img.rgb.length !== n * 3) throw new Error(`toGrey: expected ${img.width}x${img.height}x3 bytes, got ${img.rgb.length}`);
  const grey = new Uint8Array(n);
  const rgb = img.rgb;
  for (let i = 0; i < n; i++) grey[i] = (rgb[3 * i]! * 299 + rgb[3 * i + 1]! * 587 + rgb[3 * i + 2]! * 114) / 1000;
  return { width: img.width, height: img.height, grey };
}

/** Median of each tile × tile cell (cells at the right and bottom edges may be smaller). */
function tileMedians(g: GreyImage, tile: number): { cols: number; rows: number; level: Float32Array } {
  const { width: w, height: h, grey } = g;
  const cols = Math.ceil(w / tile);
  const rows = Math.ceil(h / tile);
  const level = new Float32Array(cols * rows);
  const hist = new Uint32Array(256);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      hist.fill(0);
      const y1 = Math.min(h, (r + 1) * tile);
      const x1 = Math.min(w, (c + 1) * tile);
      for (let y = r * tile; y < y1; y++) for (let x = c * tile; x < x1; x++) hist[grey[y * w + x]!]!++;
      const half = ((y1 - r * tile) * (x1 - c * tile)) / 2;
      let acc = 0;
      let v = 0;
      for (; v < 255; v++) {
        acc += hist[v]!;
        if (acc >= half) break;
      }
      level[r * cols + c] = v;
    }
  return { cols, rows, level };
}

/**
 * 3×3 median over the tile grid, edges repeated: one tile filled by a large letter does not
 * become "paper", while a steady gradient (a shadow) passes unchanged, up to the edges.
 */
function smoothTiles(level: Float32Array, cols: number, rows: number): Float32Array {
  const out = new Float32Array(level.length);
  const win = new Float32Array(9);
  const at = (r: number, c: number): number => level[Math.min(rows - 1, Math.max(0, r)) * cols + Math.min(cols - 1, Math.max(0, c))]!;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      let k = 0;
      for (let dr = -1; dr <= 1; dr++) for (let dc = -1; dc <= 1; dc++) win[k++] = at(r + dr, c + dc);
      out[r * cols + c] = win.sort()[4]!;
    }
  return out;
}

/**
 * The image with its lighting evened out (see the file comment): greyscale, the background
 * at mid-grey everywhere, ink darker or lighter than it in proportion to its contrast with
 * the local background.
 */
export function flattenIllumination(img: RgbImage): FlattenedImage {
  const g = toGrey(img);
  const { width: w, height: h, grey } = g;
  const out = new Uint8Array(w * h);
  if (w === 0 || h === 0) return { width: w, height: h, grey: out, spread: 0 };
  const tile = Math.max(MIN_TILE, Math.round(Math.max(w, h) / TILES));
  const { cols, rows, level: raw } = tileMedians(g, tile);
  const level = smoothTiles(raw, cols, rows);
  const sorted = Float32Array.from(level).sort();
  const p10 = sorted[Math.floor(0.1 * (sorted.length - 1))]!;
  const p90 = sorted[Math.ceil(0.9 * (sorted.length - 1))]!;
  const spread = p90 > 0 ? (p90 - p10) / p90 : 0;
  // Bilinear between tile centres; beyond the outer centres the edge tile's level holds.
  const axis = (p: number, n: number): [number, number, number] => {
    const f = Math.min(n - 1, Math.max(0, (p + 0.5) / tile - 0.5));
    const i0 = Math.floor(f);
    return [i0, Math.min(n - 1, i0 + 1), f - i0];
  };
  const xs = Array.from({ length: w }, (_, x) => axis(x, cols));
  for (let y = 0; y < h; y++) {
    const [r0, r1, fy] = axis(y, rows);
    for (let x = 0; x < w; x++) {
      const [c0, c1, fx] = xs[x]!;
      const top = level[r0 * cols + c0]! * (1 - fx) + level[r0 * cols + c1]! * fx;
      const bottom = level[r1 * cols + c0]! * (1 - fx) + level[r1 * cols + c1]! * fx;
      const bg = Math.max(DARKEST_BACKGROUND, top * (1 - fy) + bottom * fy);
      const v = MID + (MID * (grey[y * w + x]! - bg)) / bg;
      out[y * w + x] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return { width: w, height: h, grey: out, spread };
}

/** Binary PGM (P5): what Leptonica reads fastest for one channel. */
export function toPgm(img: GreyImage): Buffer {
  if (img.grey.length !== img.width * img.height) throw new Error(`toPgm: expected ${img.width}x${img.height} bytes, got ${img.grey.length}`);
  return Buffer.concat([Buffer.from(`P5\n${img.width} ${img.height}\n255\n`, 'latin1'), img.grey]);
}
