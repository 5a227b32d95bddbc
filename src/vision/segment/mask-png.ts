/**
 * Mask ↔ `data:image/png;base64,…`, the form Gemini 2.5 puts in a segmentation item's `mask`:
 * an 8-bit single-channel greyscale PNG (colour type 0, bit depth 8) holding the 0..255
 * probability map of the box region, at the mask's own resolution (the client resizes it to
 * the box).
 */
import sharp from 'sharp';
import type { BoxMask } from './postprocess.js';

export const MASK_DATA_URL_PREFIX = 'data:image/png;base64,';

/** PNG IHDR facts, read straight from the bytes (sharp's metadata reports channels, not colour type). */
export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colourType: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function readPngHeader(png: Uint8Array): PngHeader {
  const b = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (b.length < 33 || !b.subarray(0, 8).equals(PNG_SIGNATURE) || b.toString('latin1', 12, 16) !== 'IHDR')
    throw new Error('not a PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bitDepth: b[24] as number, colourType: b[25] as number };
}

/** Encodes the mask's probability map as a greyscale 8-bit PNG data URL. */
export async function encodeMaskPng(mask: Pick<BoxMask, 'width' | 'height' | 'probs'>): Promise<string> {
  const { width, height, probs } = mask;
  if (probs.length !== width * height) throw new RangeError(`mask has ${probs.length} values, expected ${width}x${height}`);
  const png = await sharp(Buffer.from(probs.buffer, probs.byteOffset, probs.byteLength), { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 9, adaptiveFiltering: true, palette: false })
    .toBuffer();
  const head = readPngHeader(png);
  if (head.colourType !== 0 || head.bitDepth !== 8)
    throw new Error(`mask PNG came out as colour type ${head.colourType}, depth ${head.bitDepth}; expected 8-bit grey`);
  return MASK_DATA_URL_PREFIX + png.toString('base64');
}

/**
 * Decodes a mask data URL (or raw PNG bytes) to its 8-bit grey values. Accepts any PNG a
 * model might send (RGB/alpha are reduced to grey), for tests and for clients.
 */
export async function decodeMaskPng(
  mask: string | Uint8Array,
): Promise<{ width: number; height: number; data: Uint8Array; header: PngHeader }> {
  let png: Buffer;
  if (typeof mask === 'string') {
    if (!mask.startsWith(MASK_DATA_URL_PREFIX)) throw new Error(`mask must start with ${MASK_DATA_URL_PREFIX}`);
    png = Buffer.from(mask.slice(MASK_DATA_URL_PREFIX.length), 'base64');
  } else png = Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength);
  const header = readPngHeader(png);
  // sharp hands grey images out as sRGB unless told to keep them b-w.
  const grey = (header.colourType === 0 ? sharp(png) : sharp(png).removeAlpha()).toColourspace('b-w');
  const { data, info } = await grey.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error(`decoded mask has ${info.channels} channels`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header };
}
