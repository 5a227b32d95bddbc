/**
 * SAM decoder prompt building and mask post-processing (pure functions).
 *
 * Coordinate conventions:
 *  - A `NormBox` is `[x0, y0, x1, y1]`, normalised 0..1 of the image (x first, like the
 *    detector's output; the wire's `box_2d` is y-first 0..1000 and is converted elsewhere).
 *  - The decoder works in the "frame": the image resized so its longest side is 1024
 *    (see preprocess.ts). Box corners go in as frame pixels.
 *  - The decoder's `masks` output is logits at `orig_im_size`. We pass the frame size there
 *    (not the original size: a 12 MP original would make the decoder upsample to 12 MP for
 *    nothing), so logits are frame-sized and a normalised box maps onto them directly.
 */
import type { FrameGeometry } from './preprocess.js';

/** `[x0, y0, x1, y1]`, normalised 0..1 of the image. */
export type NormBox = [number, number, number, number];

/** One object's mask: a probability map over exactly the region `box`. */
export interface BoxMask {
  /**
   * The region the mask covers, normalised 0..1 of the image. By default this is the input
   * box (clamped to the image); with `tighten` it is shrunk to the mask's extent (never grown).
   */
  box: NormBox;
  /** Mask size in pixels (not the box's pixel size: see `maskSize`). */
  width: number;
  height: number;
  /** sigmoid(logit)·255 rounded, row-major, width×height. ≥128 ⇔ logit > 0 (SAM's foreground). */
  probs: Uint8Array;
  /** SAM's predicted IoU for this mask (roughly 0..1; higher is better). */
  score: number;
}

/** Default cap on the long side of a mask, in pixels. */
export const DEFAULT_MAX_MASK_SIDE = 256;

/** Clamps to [0,1] and orders the corners; throws if the box has no area or is not finite. */
export function normaliseBox(box: readonly number[]): NormBox {
  if (box.length !== 4 || !box.every((v) => Number.isFinite(v)))
    throw new RangeError(`box must be 4 finite numbers [x0,y0,x1,y1], got ${JSON.stringify(box)}`);
  const c = (v: number): number => Math.min(1, Math.max(0, v));
  const [a, b, cc, d] = box as [number, number, number, number];
  const x0 = c(Math.min(a, cc));
  const x1 = c(Math.max(a, cc));
  const y0 = c(Math.min(b, d));
  const y1 = c(Math.max(b, d));
  if (!(x1 > x0) || !(y1 > y0)) throw new RangeError(`box ${JSON.stringify(box)} has no area inside the image`);
  return [x0, y0, x1, y1];
}

/**
 * The decoder's box prompt: the two corners in frame pixels with SAM's box labels 2 (top-left)
 * and 3 (bottom-right). No padding point is added: segment-anything only pads when there is
 * no box. x scales by frameWidth/width and y by frameHeight/height, exactly like
 * `ResizeLongestSide.apply_coords` (normalised × frame size).
 */
export function boxPrompt(box: NormBox, geo: Pick<FrameGeometry, 'frameWidth' | 'frameHeight'>): {
  pointCoords: Float32Array;
  pointLabels: Float32Array;
} {
  const [x0, y0, x1, y1] = box;
  return {
    pointCoords: Float32Array.of(x0 * geo.frameWidth, y0 * geo.frameHeight, x1 * geo.frameWidth, y1 * geo.frameHeight),
    pointLabels: Float32Array.of(2, 3),
  };
}

/**
 * Mask size for a box: the box's size in original-image pixels, scaled down (never up) so
 * the long side is at most `maxSide`; at least 1×1. The client bilinear-resizes the PNG to the
 * box's pixel size anyway, and SAM's logits are only 256×256 for the whole 1024 frame, so a
 * bigger mask would carry no extra detail, just bytes.
 */
export function maskSize(box: NormBox, width: number, height: number, maxSide: number = DEFAULT_MAX_MASK_SIDE): {
  width: number;
  height: number;
} {
  const bw = (box[2] - box[0]) * width;
  const bh = (box[3] - box[1]) * height;
  const k = Math.min(1, maxSide / Math.max(bw, bh));
  return { width: Math.max(1, Math.round(bw * k)), height: Math.max(1, Math.round(bh * k)) };
}

/** Index of the mask with the highest predicted IoU (the decoder may return 1 or 3 masks). */
export function bestMaskIndex(iou: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < iou.length; i++) if ((iou[i] as number) > (iou[best] as number)) best = i;
  return best;
}

/** 255·sigmoid(x), rounded; logit 0 → 128 (so "≥128" means SAM foreground). */
export function sigmoidByte(logit: number): number {
  if (logit >= 20) return 255;
  if (logit <= -20) return 0;
  return Math.round(255 / (1 + Math.exp(-logit)));
}

/**
 * Crops a box out of a logit map and resamples it to outWidth×outHeight, then sigmoid → 0..255.
 *
 * `logits` is one mask, row-major `mapWidth×mapHeight`, covering the whole image (here the
 * frame-sized decoder output). The box region `[x0·W, x1·W] × [y0·H, y1·H]` is sampled at the
 * output pixel centres with bilinear interpolation and edge clamping (PyTorch's
 * `interpolate(align_corners=False)` convention, what SAM uses); logits are interpolated
 * before the sigmoid, so edges stay sharp.
 */
export function cropLogitsToProbs(
  logits: ArrayLike<number>,
  mapWidth: number,
  mapHeight: number,
  box: NormBox,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  if (logits.length < mapWidth * mapHeight) throw new RangeError(`logits has ${logits.length} values, expected ${mapWidth}x${mapHeight}`);
  const out = new Uint8Array(outWidth * outHeight);
  const bx0 = box[0] * mapWidth;
  const by0 = box[1] * mapHeight;
  const sx = ((box[2] - box[0]) * mapWidth) / outWidth;
  const sy = ((box[3] - box[1]) * mapHeight) / outHeight;
  // Precompute the x taps once per column.
  const xi0 = new Int32Array(outWidth);
  const xi1 = new Int32Array(outWidth);
  const xf = new Float32Array(outWidth);
  for (let j = 0; j < outWidth; j++) {
    const x = Math.min(mapWidth - 1, Math.max(0, bx0 + (j + 0.5) * sx - 0.5));
    const i0 = Math.floor(x);
    xi0[j] = i0;
    xi1[j] = Math.min(mapWidth - 1, i0 + 1);
    xf[j] = x - i0;
  }
  for (let i = 0; i < outHeight; i++) {
    const y = Math.min(mapHeight - 1, Math.max(0, by0 + (i + 0.5) * sy - 0.5));
    const r0 = Math.floor(y);
    const r1 = Math.min(mapHeight - 1, r0 + 1);
    const fy = y - r0;
    const row0 = r0 * mapWidth;
    const row1 = r1 * mapWidth;
    for (let j = 0; j < outWidth; j++) {
      const a = xi0[j] as number;
      const b = xi1[j] as number;
      const fx = xf[j] as number;
      const top = (logits[row0 + a] as number) * (1 - fx) + (logits[row0 + b] as number) * fx;
      const bottom = (logits[row1 + a] as number) * (1 - fx) + (logits[row1 + b] as number) * fx;
      out[i * outWidth + j] = sigmoidByte(top * (1 - fy) + bottom * fy);
    }
  }
  return out;
}

/**
 * Shrinks a mask and its box to the extent of the pixels ≥ threshold (default 128, SAM's
 * logit 0). Leaves the mask as is when nothing reaches the threshold. The box is moved by
 * whole mask pixels, so box and mask stay exactly aligned.
 */
export function tightenMask(mask: BoxMask, threshold = 128): BoxMask {
  const { width, height, probs, box } = mask;
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if ((probs[y * width + x] as number) >= threshold) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
  if (maxX < 0) return mask;
  if (minX === 0 && minY === 0 && maxX === width - 1 && maxY === height - 1) return mask;
  const w = maxX - minX + 1;
  const h = maxY - minY + 1;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) out.set(probs.subarray((minY + y) * width + minX, (minY + y) * width + minX + w), y * w);
  const px = (box[2] - box[0]) / width;
  const py = (box[3] - box[1]) / height;
  return {
    box: [box[0] + minX * px, box[1] + minY * py, box[0] + (maxX + 1) * px, box[1] + (maxY + 1) * py],
    width: w,
    height: h,
    probs: out,
    score: mask.score,
  };
}

/** Share of mask pixels ≥ threshold (SAM foreground), 0..1. */
export function foregroundFraction(mask: Pick<BoxMask, 'probs'>, threshold = 128): number {
  let n = 0;
  for (const v of mask.probs) if (v >= threshold) n++;
  return mask.probs.length === 0 ? 0 : n / mask.probs.length;
}
