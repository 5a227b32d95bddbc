/**
 * A reference 8-bit input for the converter's parity tests: the image resized to side×side the
 * way TF's `resizeBilinear(half_pixel_centers)` does it (plain bilinear between the 2×2 nearest
 * source pixels, no antialiasing), by sharp's affine scale with the half-pixel offset. TF.js and
 * onnxruntime are then fed the very same bytes (an input of the model's size passes the graph's
 * own resize unchanged), so what is compared is the converted arithmetic alone.
 */
import sharp from 'sharp';
import type { RgbImage } from '../../src/vision/detect/types.js';

export async function resizeBilinearTf(img: RgbImage, side: number): Promise<Uint8Array> {
  const raw = (data: Uint8Array, width: number, height: number) =>
    sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 3 } });
  const sx = side / img.width;
  const sy = side / img.height;
  // Output pixel x samples source (x + 0.5) / sx - 0.5: TF's half-pixel centres.
  let out = await raw(img.rgb, img.width, img.height)
    .affine([sx, 0, 0, sy], { interpolator: sharp.interpolators.bilinear, odx: 0.5 * sx - 0.5, ody: 0.5 * sy - 0.5 })
    .raw()
    .toBuffer({ resolveWithObject: true });
  // The affine output can be a pixel larger than side (rounding up); a second pipeline crops it.
  if (out.info.width !== side || out.info.height !== side)
    out = await raw(out.data, out.info.width, out.info.height).extract({ left: 0, top: 0, width: side, height: side }).raw().toBuffer({ resolveWithObject: true });
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
}
