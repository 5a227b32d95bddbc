/**
 * Square crops of the working image, and the coordinate mappings between a model's input
 * (0..1 over the crop) and the image. Pure: no tensors here.
 *
 * Every model in this module sees a square crop: the whole image centred in a square
 * (black bars, as MoveNet and BlazeFace expect), or a square around a face or a person.
 * A crop may extend past the image edges; TF.js `cropAndResize` fills that part with 0.
 */
import type { NormBox } from './types.js';

/** A square region in working-image pixels (continuous coordinates: pixel i spans [i, i+1)). */
export interface SquareCrop {
  cx: number;
  cy: number;
  side: number;
}

/** Size of the working image: the tensor's size, and the frame used to normalise. */
export interface Frame {
  /** Tensor width and height in pixels. */
  width: number;
  height: number;
  /**
   * The source image's size in working pixels (source size ÷ downscale factor). Equal to the
   * tensor size, or slightly larger when an integer pooling dropped the last rows/columns.
   */
  frameWidth: number;
  frameHeight: number;
}

export function frameOf(width: number, height: number, frameWidth = width, frameHeight = height): Frame {
  return { width, height, frameWidth, frameHeight };
}

/** The whole frame, centred in a square (letterboxed with black bars). */
export function wholeImageCrop(f: Frame): SquareCrop {
  return { cx: f.frameWidth / 2, cy: f.frameHeight / 2, side: Math.max(f.frameWidth, f.frameHeight) };
}

/** A square around a box in working pixels [x0, y0, x1, y1], its longer side × `enlarge`. */
export function squareAround(box: readonly [number, number, number, number], enlarge: number, minSide = 8): SquareCrop {
  const side = Math.max(minSide, Math.max(box[2] - box[0], box[3] - box[1]) * enlarge);
  return { cx: (box[0] + box[2]) / 2, cy: (box[1] + box[3]) / 2, side };
}

/**
 * The `cropAndResize` box [y0, x0, y1, x1] that samples `crop` at `outSize`×`outSize` with
 * pixel-centre alignment: output pixel j is the input at top + (j + 0.5)·side/outSize.
 * (cropAndResize puts output pixel j at y0·(H−1) + j·(y1−y0)·(H−1)/(outSize−1), in units
 * where input pixel centres are integers.)
 */
export function cropBox(crop: SquareCrop, f: Frame, outSize: number): [number, number, number, number] {
  const step = crop.side / outSize;
  const left = crop.cx - crop.side / 2 + step / 2 - 0.5;
  const top = crop.cy - crop.side / 2 + step / 2 - 0.5;
  const far = crop.side - step; // centre of the first to centre of the last output pixel
  const sx = Math.max(1, f.width - 1);
  const sy = Math.max(1, f.height - 1);
  return [top / sy, left / sx, (top + far) / sy, (left + far) / sx];
}

/** A point in model-input units (0..1 across the crop) → working pixels. */
export function cropToPixels(u: number, v: number, crop: SquareCrop): [number, number] {
  return [crop.cx - crop.side / 2 + u * crop.side, crop.cy - crop.side / 2 + v * crop.side];
}

/**
 * Overlapping square tiles for a second, zoomed-in look (1.6×): side 0.625 × the frame's
 * longer side (at least `minSide`), so two tiles span each long axis with a quarter of the
 * side in common; 2–4 tiles in all. Empty when the frame is too small for zooming to help
 * (longer side under 1.5 × minSide).
 */
export function faceTiles(f: Frame, minSide: number): SquareCrop[] {
  const long = Math.max(f.frameWidth, f.frameHeight);
  if (long < 1.5 * minSide) return [];
  const side = Math.max(minSide, 0.625 * long);
  const centres = (dim: number): number[] => {
    if (dim <= side) return [dim / 2];
    const n = Math.ceil((dim - side) / (0.75 * side)) + 1;
    return Array.from({ length: n }, (_, i) => side / 2 + (i * (dim - side)) / (n - 1));
  };
  const out: SquareCrop[] = [];
  for (const cy of centres(f.frameHeight)) for (const cx of centres(f.frameWidth)) out.push({ cx, cy, side });
  return out;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** Working pixels → a normalised box of the image, clamped and rounded to 4 decimals. */
export function toNormBox(box: readonly [number, number, number, number], f: Frame): NormBox {
  const x0 = clamp01(box[0] / f.frameWidth);
  const y0 = clamp01(box[1] / f.frameHeight);
  const x1 = clamp01(box[2] / f.frameWidth);
  const y1 = clamp01(box[3] / f.frameHeight);
  return [round4(Math.min(x0, x1)), round4(Math.min(y0, y1)), round4(Math.max(x0, x1)), round4(Math.max(y0, y1))];
}

/**
 * The integer pooling factor that brings the longer side to at most `maxSide` (1 when it
 * already is), but never past the shorter side (a 10000×3 strip pools by 3, not 8).
 * Pooling averages k×k blocks: a cheap, alias-free downscale for big photos.
 */
export function poolFactor(width: number, height: number, maxSide: number): number {
  return Math.max(1, Math.min(Math.ceil(Math.max(width, height) / maxSide), Math.min(width, height)));
}

/**
 * The image as float RGB (0..255), averaged over k×k blocks when k > 1 (the last
 * width mod k columns and height mod k rows are dropped). Done on the 8-bit bytes in JS so
 * a 12-megapixel photo never becomes a 144 MB float tensor inside the wasm heap, which
 * would keep that size for the life of the process.
 */
export function poolRgb(img: { width: number; height: number; rgb: Uint8Array }, k: number): { width: number; height: number; data: Float32Array } {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`pool factor ${k} is not a positive integer`);
  if (k === 1) return { width: img.width, height: img.height, data: Float32Array.from(img.rgb) };
  const width = Math.floor(img.width / k);
  const height = Math.floor(img.height / k);
  if (width < 1 || height < 1) throw new RangeError(`image ${img.width}x${img.height} is smaller than the pool factor ${k}`);
  const data = new Float32Array(width * height * 3);
  const rowSums = new Float64Array(width * 3);
  const inv = 1 / (k * k);
  const srcStride = img.width * 3;
  for (let oy = 0; oy < height; oy++) {
    rowSums.fill(0);
    for (let dy = 0; dy < k; dy++) {
      let p = (oy * k + dy) * srcStride;
      for (let ox = 0; ox < width; ox++) {
        let r = 0,
          g = 0,
          b = 0;
        for (let dx = 0; dx < k; dx++, p += 3) {
          r += img.rgb[p]!;
          g += img.rgb[p + 1]!;
          b += img.rgb[p + 2]!;
        }
        rowSums[3 * ox] = rowSums[3 * ox]! + r;
        rowSums[3 * ox + 1] = rowSums[3 * ox + 1]! + g;
        rowSums[3 * ox + 2] = rowSums[3 * ox + 2]! + b;
      }
    }
    const o = oy * width * 3;
    for (let i = 0; i < width * 3; i++) data[o + i] = rowSums[i]! * inv;
  }
  return { width, height, data };
}
