/**
 * Image → model input, and model-input coordinates → normalised boxes of the original image.
 * The geometry is pure (unit-tested on numbers); the tensor helpers run on TF.js.
 */
import { clampBox } from './nms.js';
import { tf } from './tfjs-model.js';
import type { Box, RgbImage } from './types.js';

/** How an image of srcW×srcH sits inside a square model input when letterboxed. */
export interface Letterbox {
  /** Model input side, pixels. */
  size: number;
  /** Source pixels → input pixels. */
  scale: number;
  /** Size of the resized image inside the input. */
  width: number;
  height: number;
  /** Padding on the left and on the top (the rest goes right and bottom). */
  padX: number;
  padY: number;
}

/** Fit srcW×srcH inside size×size keeping the aspect ratio, centred (as YOLOv5 does). */
export function letterbox(srcW: number, srcH: number, size: number): Letterbox {
  if (!(srcW > 0 && srcH > 0 && size > 0)) throw new RangeError(`bad letterbox ${srcW}x${srcH} → ${size}`);
  const scale = Math.min(size / srcW, size / srcH);
  const width = Math.max(1, Math.min(size, Math.round(srcW * scale)));
  const height = Math.max(1, Math.min(size, Math.round(srcH * scale)));
  return { size, scale, width, height, padX: Math.floor((size - width) / 2), padY: Math.floor((size - height) / 2) };
}

/** A box in letterboxed-input pixels → normalised box of the source image, clamped. */
export function fromLetterbox(box: Box, lb: Letterbox): Box {
  return clampBox([
    (box[0] - lb.padX) / lb.width,
    (box[1] - lb.padY) / lb.height,
    (box[2] - lb.padX) / lb.width,
    (box[3] - lb.padY) / lb.height,
  ]);
}

/** A box in stretched-input pixels (the whole image resized to inW×inH) → normalised, clamped. */
export function fromStretch(box: Box, inW: number, inH: number): Box {
  return clampBox([box[0] / inW, box[1] / inH, box[2] / inW, box[3] / inH]);
}

/** Centre/size (cx, cy, w, h) → corners. */
export function cxcywhToCorners(cx: number, cy: number, w: number, h: number): Box {
  return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function checkImage(img: RgbImage): void {
  const { width, height, rgb } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new RangeError(`image size ${width}x${height} is not a positive integer size`);
  if (rgb.length !== width * height * 3)
    throw new RangeError(`image data is ${rgb.length} bytes, expected ${width * height * 3} for ${width}x${height} RGB`);
}

/** [1, H, W, 3] int32 tensor of the image. */
export function imageTensor(img: RgbImage): tf.Tensor4D {
  checkImage(img);
  return tf.tensor4d(Int32Array.from(img.rgb), [1, img.height, img.width, 3], 'int32');
}

/**
 * [1, h, w, 3] float32 (0..255) of the whole image resized to w×h, aspect ratio not kept.
 * Bilinear, half-pixel centres: what TF's own preprocessing does.
 */
export function stretchTensor(img: RgbImage, w: number, h: number): tf.Tensor4D {
  checkImage(img);
  return tf.tidy(() => {
    const t = tf.tensor4d(Float32Array.from(img.rgb), [1, img.height, img.width, 3], 'float32');
    return img.width === w && img.height === h ? t : tf.image.resizeBilinear(t, [h, w], false, true);
  });
}

/** [1, size, size, 3] float32 (0..255): resized to fit, centred, padded with `pad`. */
export function letterboxTensor(img: RgbImage, lb: Letterbox, pad: number): tf.Tensor4D {
  return tf.tidy(() => {
    const resized = stretchTensor(img, lb.width, lb.height);
    const right = lb.size - lb.width - lb.padX;
    const bottom = lb.size - lb.height - lb.padY;
    return tf.pad(resized, [[0, 0], [lb.padY, bottom], [lb.padX, right], [0, 0]], pad);
  });
}
