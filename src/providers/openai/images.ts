/**
 * Decoded images → the `data:image/jpeg;base64,…` URLs an OpenAI-compatible server takes.
 * The upright RGB pixels are encoded (so EXIF orientation, HEIC and alpha are already
 * dealt with, whatever the server's own decoder supports), scaled down first when asked.
 * The size actually sent is kept with the URL: grounding coordinates refer to it.
 */
import sharp from 'sharp';
import type { DecodedImage } from '../../media/decode.js';

export interface EncodedImage {
  url: string;
  width: number;
  height: number;
}

/** JPEG quality of what is sent: high enough that small text and edges survive for the VLM. */
export const JPEG_QUALITY = 90;

/** The size to send: `exact` when given (grounding grids), else the image scaled down to fit `maxSide`. */
export function sendSize(width: number, height: number, maxSide?: number): { width: number; height: number } {
  if (!maxSide || Math.max(width, height) <= maxSide) return { width, height };
  const s = maxSide / Math.max(width, height);
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/**
 * Encodings per decoded image and size. Decoded images are shared through the image
 * cache by content hash, so a repeated image (the same photo asked about again, the
 * gateway bench) is encoded once; entries go when the decoded image does.
 */
const encoded = new WeakMap<DecodedImage, Map<string, Promise<EncodedImage>>>();

export function encodeImage(image: DecodedImage, size: { width: number; height: number }): Promise<EncodedImage> {
  let perSize = encoded.get(image);
  if (!perSize) encoded.set(image, (perSize = new Map()));
  const key = `${size.width}x${size.height}`;
  let p = perSize.get(key);
  if (!p) {
    p = encodeNow(image, size);
    perSize.set(key, p);
    // A failed encoding is not kept: the next request tries again.
    p.catch(() => perSize!.delete(key));
  }
  return p;
}

async function encodeNow(image: DecodedImage, size: { width: number; height: number }): Promise<EncodedImage> {
  let pipeline = sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (size.width !== image.width || size.height !== image.height)
    // fit 'fill': grounding grids change the aspect ratio by a few pixels, and coordinates refer to exactly this size.
    pipeline = pipeline.resize(size.width, size.height, { fit: 'fill', kernel: 'lanczos3' });
  const jpeg = await pipeline.jpeg({ quality: JPEG_QUALITY, chromaSubsampling: '4:4:4' }).toBuffer();
  return { url: `data:image/jpeg;base64,${jpeg.toString('base64')}`, width: size.width, height: size.height };
}
