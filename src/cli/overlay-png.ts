/**
 * `ocellus ask --out`: the image as the server saw it (decoded by the server's own decoder,
 * so EXIF orientation and HEIC are handled identically and box_2d lines up), with the
 * answer's masks tinted in and its boxes and labels drawn on top, as a PNG.
 */
import sharp, { type OverlayOptions } from 'sharp';
import type { AnswerItem } from '../overlay/answer-items.js';
import { boxesSvg, layoutShapes, maskLayer } from '../overlay/draw.js';
import { decodeImage } from '../media/decode.js';

export interface OverlayResult {
  png: Buffer;
  width: number;
  height: number;
  boxes: number;
  masks: number;
}

const DATA_URL_PREFIX = 'data:image/png;base64,';

export async function renderOverlayPng(imageBytes: Buffer, items: readonly AnswerItem[], name: string): Promise<OverlayResult> {
  const image = await decodeImage(imageBytes, { partLabel: name, maxPixels: Number.MAX_SAFE_INTEGER });
  const { width, height } = image;
  const shapes = layoutShapes(items, width, height);
  const layers: OverlayOptions[] = [];
  let masks = 0;
  for (const shape of shapes) {
    if (!shape.mask) continue;
    const { data, info } = await sharp(Buffer.from(shape.mask.slice(DATA_URL_PREFIX.length), 'base64'))
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const layer = maskLayer({ data, width: info.width, height: info.height, channels: info.channels }, shape.box, shape.colour);
    if (layer.width === 0 || layer.height === 0) continue;
    layers.push({ input: Buffer.from(layer.data), raw: { width: layer.width, height: layer.height, channels: 4 }, left: shape.box.x0, top: shape.box.y0 });
    masks++;
  }
  if (shapes.length > 0) layers.push({ input: Buffer.from(boxesSvg(shapes, width, height)), left: 0, top: 0 });
  const png = await sharp(image.rgb, { raw: { width, height, channels: 3 } }).composite(layers).png().toBuffer();
  return { png, width, height, boxes: shapes.length, masks };
}
