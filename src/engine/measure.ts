/**
 * What is measured from the pixels alone, for both offline answerers (the vision models'
 * and the measurements-only one): dominant colours and brightness of each image, and where
 * consecutive images differ. Everything works on one small fixed-size copy per image
 * (vision/thumbnail.ts), so both answerers measure exactly the same way.
 */
import sharp from 'sharp';
import { nextTurn } from '../loop-turns.js';
import type { DecodedImage } from '../media/decode.js';
import { dominantColours, meanBrightness, type DominantColour } from '../vision/colors.js';
import { compareImages } from '../vision/diff.js';
import { thumbnail, type RgbImage } from '../vision/thumbnail.js';
import type { PairFacts } from './compose/facts.js';

/** Side of the square copy colours and differences are measured on. */
const GRID = 64;

export interface PixelMeasures {
  /** The small copy, kept by callers that compare images afterwards. */
  thumb: RgbImage;
  colours: DominantColour[];
  brightness: number;
}

export async function measurePixels(image: DecodedImage): Promise<PixelMeasures> {
  const thumb = await thumbnail(image, GRID, GRID);
  // The k-means in a loop turn of its own: thumbnails of many requests finish together.
  await nextTurn();
  return { thumb, colours: dominantColours(thumb), brightness: meanBrightness(thumb) };
}

/**
 * Consecutive pairs, "what changed from image 1 to image 2 (to image 3…)", from the
 * copies `measurePixels` made, in request order.
 */
export function compareConsecutive(images: DecodedImage[], thumbs: RgbImage[]): PairFacts[] {
  const pairs: PairFacts[] = [];
  for (let i = 0; i + 1 < images.length; i++) {
    pairs.push({
      images: [i + 1, i + 2],
      identicalBytes: images[i]!.hash === images[i + 1]!.hash,
      ...compareImages(thumbs[i]!, thumbs[i + 1]!),
    });
  }
  return pairs;
}

/**
 * Colours inside a detected object's box (its centre half, to avoid the background), for
 * "is the motorcycle red?" and "what colour is the car?".
 */
export async function measureBoxColours(image: DecodedImage, box: [number, number, number, number]): Promise<DominantColour[]> {
  const w = box[2] - box[0];
  const h = box[3] - box[1];
  const left = Math.floor((box[0] + w / 4) * image.width);
  const top = Math.floor((box[1] + h / 4) * image.height);
  const width = Math.max(1, Math.floor((w / 2) * image.width));
  const height = Math.max(1, Math.floor((h / 2) * image.height));
  const { data, info } = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left, top, width: Math.min(width, image.width - left), height: Math.min(height, image.height - top) })
    .resize(32, 32, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Up to five colours down to 8%: "is the motorcycle red?" turns on a colour that may be a
  // fifth of the box, not the one it mostly is.
  return dominantColours({ width: info.width, height: info.height, rgb: data }, 5, 0.08);
}
