import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { MASK_DATA_URL_PREFIX, decodeMaskPng, encodeMaskPng, readPngHeader } from '../../../src/vision/segment/mask-png.js';

function pngBytes(dataUrl: string): Buffer {
  return Buffer.from(dataUrl.slice(MASK_DATA_URL_PREFIX.length), 'base64');
}

describe('encodeMaskPng', () => {
  it('writes an 8-bit single-channel greyscale PNG data URL', async () => {
    const width = 37;
    const height = 23;
    const probs = new Uint8Array(width * height).map((_, i) => (i * 7) % 256);
    const url = await encodeMaskPng({ width, height, probs });
    expect(url.startsWith('data:image/png;base64,')).toBe(true);
    const png = pngBytes(url);
    // IHDR: colour type 0 (grey), bit depth 8 — not RGB, not palette, not 16-bit
    expect(readPngHeader(png)).toEqual({ width, height, bitDepth: 8, colourType: 0 });
    const meta = await sharp(png).metadata();
    expect(meta).toMatchObject({ format: 'png', channels: 1, space: 'b-w', depth: 'uchar', hasAlpha: false });
  });

  it('round-trips every value exactly (lossless), including 0, 127, 128, 255', async () => {
    const width = 256;
    const height = 3;
    const probs = new Uint8Array(width * height).map((_, i) => (i % 3 === 1 ? 255 - (i % 256) : i % 256));
    const { width: w, height: h, data, header } = await decodeMaskPng(await encodeMaskPng({ width, height, probs }));
    expect([w, h]).toEqual([width, height]);
    expect(header.colourType).toBe(0);
    expect(Buffer.from(data).equals(Buffer.from(probs))).toBe(true);
  });

  it('keeps typical masks small', async () => {
    // a 256×256 disc with a soft edge
    const n = 256;
    const probs = new Uint8Array(n * n).map((_, i) => {
      const d = Math.hypot((i % n) - 128, Math.floor(i / n) - 128) - 90;
      return Math.round(255 / (1 + Math.exp(d)));
    });
    const png = pngBytes(await encodeMaskPng({ width: n, height: n, probs }));
    expect(png.length).toBeLessThan(8 * 1024);
  });

  it('accepts a subarray view and rejects a size mismatch', async () => {
    const backing = new Uint8Array(20).fill(9);
    const probs = backing.subarray(4, 8).fill(200);
    const { data } = await decodeMaskPng(await encodeMaskPng({ width: 2, height: 2, probs }));
    expect(Array.from(data)).toEqual([200, 200, 200, 200]);
    await expect(encodeMaskPng({ width: 3, height: 2, probs })).rejects.toThrow(RangeError);
  });
});

describe('decodeMaskPng', () => {
  it('requires the data URL prefix the clients check for', async () => {
    await expect(decodeMaskPng('iVBORw0KGgo=')).rejects.toThrow(/data:image\/png;base64,/);
  });
  it('reduces an RGB PNG from elsewhere to grey', async () => {
    const rgb = await sharp({ create: { width: 2, height: 1, channels: 3, background: { r: 255, g: 255, b: 255 } } }).png().toBuffer();
    const { data, header } = await decodeMaskPng(rgb);
    expect(header.colourType).toBe(2);
    expect(Array.from(data)).toEqual([255, 255]);
  });
});
