import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { resolveTurns, checkPixelBudget, type ResolveContext } from '../../src/generate/inputs.js';
import { decodeImage, inspectImage } from '../../src/media/decode.js';
import { ApiError } from '../../src/errors.js';

describe('the per-request pixel budget', () => {
  it('names the part that takes the request over the budget', () => {
    const images = [
      { label: 'contents[0].parts[0].inlineData', width: 4000, height: 3000 },
      { label: 'contents[0].parts[1].inlineData', width: 4000, height: 3000 },
    ];
    expect(() => checkPixelBudget(images, 24_000_000)).not.toThrow();
    expect(() => checkPixelBudget(images, 20_000_000)).toThrow(
      /^contents\[0\]\.parts\[1\]\.inlineData \(4000x3000\) takes the request's images to 24 megapixels, more than the limit of 20 megapixels per request/,
    );
  });

  it('refuses before decoding any image: only headers are read', async () => {
    const png = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#336699' } }).png().toBuffer();
    const data = png.toString('base64');
    let decoded = 0;
    const ctx: ResolveContext = {
      project: 'p',
      files: { openForGeneration: async () => Promise.reject(new Error('no files here')) },
      images: {
        info: (b, o) => inspectImage(b, o),
        decode: async (b, o) => (decoded++, decodeImage(b, o)),
        cached: () => undefined,
      },
      maxPixels: 1e8,
      maxImages: 100,
      maxRequestPixels: 5_000_000,
    };
    const part = { inlineData: { mimeType: 'image/png', data } };
    const err = (await resolveTurns([{ role: 'user', parts: [part, part, { text: 'compare' }, part] }], ctx).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.httpStatus).toBe(400);
    expect(err.message).toMatch(/^contents\[0\]\.parts\[3\]\.inlineData \(2000x1000\) takes the request's images to 6 megapixels/);
    expect(decoded).toBe(0);
    // Under the budget the same images decode, once each part.
    const turns = await resolveTurns([{ role: 'user', parts: [part, part, { text: 'compare' }] }], ctx);
    expect(turns[0]!.parts.map((p) => p.kind)).toEqual(['image', 'image', 'text']);
    expect(decoded).toBe(2);
  });
});
