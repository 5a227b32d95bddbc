/** The copy of an image the offline models see: no larger than they work at. */
import sharp from 'sharp';
import type { DecodedImage } from '../../media/decode.js';
import type { RawImage } from '../../vision/analysis.js';

/** A copy no larger than `side` on its long side (the image itself when it already fits). */
export async function shrink(image: DecodedImage, side: number): Promise<RawImage> {
  if (Math.max(image.width, image.height) <= side) return { width: image.width, height: image.height, rgb: image.rgb };
  const { data, info } = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(side, side, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: data };
}
