/**
 * RGB image → the NSFW classifier's input: the whole image resized to size×size (aspect
 * ratio not kept, as nsfwjs does), values scaled to 0..1, NHWC float32.
 *
 * nsfwjs itself resizes with TF's bilinear (align corners) straight from the full image,
 * which samples only 4 source pixels per output pixel: a 4000×3000 photo is then judged on
 * a few thousandths of its pixels, and aliasing decides part of the score. Here the resize
 * is a separable triangle filter whose support widens with the reduction factor (PIL's
 * antialiased BILINEAR), so every source pixel contributes; enlarging is plain bilinear with
 * half-pixel centres. Pure JS, no tensors: a 12 MP image never becomes a 36 M-entry tensor.
 */

export interface RgbImage {
  width: number;
  height: number;
  /** Row-major 8-bit RGB, width × height × 3 bytes. */
  rgb: Uint8Array;
}

/** Filter taps of one axis: output i reads source start[i] .. start[i]+count[i]-1. */
export interface AxisWeights {
  start: Int32Array;
  count: Int32Array;
  /** `taps` weights per output, first `count[i]` used, each row summing to 1. */
  weights: Float32Array;
  taps: number;
}

/** Triangle-filter weights from `src` samples to `dst` samples (both ≥ 1). */
export function axisWeights(src: number, dst: number): AxisWeights {
  if (!(Number.isInteger(src) && Number.isInteger(dst) && src >= 1 && dst >= 1))
    throw new RangeError(`bad resize ${src} → ${dst}`);
  const scale = src / dst;
  const support = Math.max(scale, 1); // triangle half-width, source pixels
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const weights = new Float32Array(dst * taps);
  for (let i = 0; i < dst; i++) {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(src, Math.ceil(centre + support));
    let sum = 0;
    let n = 0;
    for (let j = lo; j < hi && n < taps; j++, n++) {
      const w = Math.max(0, 1 - Math.abs((j + 0.5 - centre) / support));
      weights[i * taps + n] = w;
      sum += w;
    }
    // The pixel holding the centre is at most half a pixel from it, inside the support
    // (≥ 1), so sum > 0.
    start[i] = lo;
    for (let k = 0; k < n; k++) weights[i * taps + k]! /= sum;
    count[i] = n;
  }
  return { start, count, weights, taps };
}

function checkImage(img: RgbImage): void {
  const { width, height, rgb } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new RangeError(`image size ${width}x${height} is not a positive integer size`);
  if (rgb.length !== width * height * 3)
    throw new RangeError(`image data is ${rgb.length} bytes, expected ${width * height * 3} for ${width}x${height} RGB`);
}

/**
 * The image resized to size×size, NHWC without the batch axis, values in 0..1
 * (`size * size * 3` floats).
 */
export function toModelInput(img: RgbImage, size: number): Float32Array {
  checkImage(img);
  return resizeTriangle(boxReduce(img, Math.floor(img.width / size / 2), Math.floor(img.height / size / 2)), size);
}

/**
 * Averages kx×ky blocks (the last block of a row or column averages what is left), so a
 * 12 MP photo reaches the triangle filter at a few hundred pixels a side: one cheap pass
 * over the source instead of 2×scale taps per pixel. Factors below 2 leave the image as is.
 * The result stays at least 2× the model side, where the triangle filter does the rest.
 */
export function boxReduce(img: RgbImage, kx: number, ky: number): RgbImage {
  kx = Math.max(1, Math.floor(kx));
  ky = Math.max(1, Math.floor(ky));
  if (kx < 2 && ky < 2) return img;
  const { width: w, height: h, rgb } = img;
  const ow = Math.ceil(w / kx);
  const oh = Math.ceil(h / ky);
  const sums = new Float64Array(ow * 3);
  const out = new Uint8Array(ow * oh * 3);
  for (let oy = 0; oy < oh; oy++) {
    sums.fill(0);
    const y0 = oy * ky;
    const y1 = Math.min(h, y0 + ky);
    for (let y = y0; y < y1; y++) {
      let p = y * w * 3;
      for (let ox = 0; ox < ow; ox++) {
        const n = Math.min(kx, w - ox * kx);
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = 0; k < n; k++, p += 3) {
          r += rgb[p]!;
          g += rgb[p + 1]!;
          b += rgb[p + 2]!;
        }
        sums[ox * 3]! += r;
        sums[ox * 3 + 1]! += g;
        sums[ox * 3 + 2]! += b;
      }
    }
    const rows = y1 - y0;
    for (let ox = 0; ox < ow; ox++) {
      const count = rows * Math.min(kx, w - ox * kx);
      const o = (oy * ow + ox) * 3;
      out[o] = Math.round(sums[ox * 3]! / count);
      out[o + 1] = Math.round(sums[ox * 3 + 1]! / count);
      out[o + 2] = Math.round(sums[ox * 3 + 2]! / count);
    }
  }
  return { width: ow, height: oh, rgb: out };
}

/** Separable triangle-filter resize to size×size, 0..1. */
export function resizeTriangle(img: RgbImage, size: number): Float32Array {
  const { width: w, height: h, rgb } = img;
  const xs = axisWeights(w, size);
  const ys = axisWeights(h, size);
  // Horizontal pass: h rows × size columns.
  const tmp = new Float32Array(h * size * 3);
  for (let y = 0; y < h; y++) {
    const row = y * w * 3;
    const out = y * size * 3;
    for (let x = 0; x < size; x++) {
      const s = xs.start[x]!;
      const n = xs.count[x]!;
      const wo = x * xs.taps;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < n; k++) {
        const wt = xs.weights[wo + k]!;
        const p = row + (s + k) * 3;
        r += rgb[p]! * wt;
        g += rgb[p + 1]! * wt;
        b += rgb[p + 2]! * wt;
      }
      const o = out + x * 3;
      tmp[o] = r;
      tmp[o + 1] = g;
      tmp[o + 2] = b;
    }
  }
  // Vertical pass, scaling to 0..1.
  const dst = new Float32Array(size * size * 3);
  const rowLen = size * 3;
  for (let y = 0; y < size; y++) {
    const s = ys.start[y]!;
    const n = ys.count[y]!;
    const wo = y * ys.taps;
    const out = y * rowLen;
    for (let k = 0; k < n; k++) {
      const wt = ys.weights[wo + k]! / 255;
      const src = (s + k) * rowLen;
      for (let i = 0; i < rowLen; i++) dst[out + i]! += tmp[src + i]! * wt;
    }
  }
  for (let i = 0; i < dst.length; i++) dst[i] = Math.min(1, Math.max(0, dst[i]!));
  return dst;
}
