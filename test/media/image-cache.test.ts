import { describe, expect, it, vi } from 'vitest';
import { type DecodeOptions, type DecodedImage, decodeImage } from '../../src/media/decode.js';
import { MediaError } from '../../src/media/errors.js';
import { ImageCache } from '../../src/media/image-cache.js';
import { readFixture } from '../support/fixtures.js';

const opts = (partLabel = 'contents[0].parts[0].inlineData', extra: Partial<DecodeOptions> = {}): DecodeOptions => ({
  partLabel,
  maxPixels: 100_000_000,
  ...extra,
});

/** Distinct tiny "PNG" byte strings (the sniffer only looks at the signature); the decoder is faked. */
const fakePng = (n: number): Buffer => Buffer.concat([readFixture('pixel-1x1.png').subarray(0, 8), Buffer.from(`image-${n}`)]);

function fakeDecoded(hash: string, pixels: number): DecodedImage {
  return {
    hash,
    format: 'png',
    mimeType: 'image/png',
    width: pixels,
    height: 1,
    orientation: 1,
    hasAlpha: false,
    isGreyscale: false,
    colourSpace: 'srgb',
    pages: 1,
    bytes: 10,
    channels: 3,
    rgb: Buffer.alloc(pixels * 3),
  };
}

describe('ImageCache', () => {
  it('decodes the same bytes once and serves later calls from the cache', async () => {
    const decode = vi.fn(decodeImage);
    const cache = new ImageCache({ decode });
    const bytes = readFixture('dog.jpg');
    const a = await cache.getOrDecode(bytes, opts());
    const b = await cache.getOrDecode(Buffer.from(bytes), opts('contents[1].parts[0].inlineData'));
    expect(b).toBe(a);
    expect(decode).toHaveBeenCalledTimes(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1 });
    expect(cache.has(a.hash)).toBe(true);
  });

  it('shares one in-flight decode between concurrent callers', async () => {
    const decode = vi.fn(decodeImage);
    const cache = new ImageCache({ decode });
    const bytes = readFixture('dog.heic');
    const results = await Promise.all([0, 1, 2].map((i) => cache.getOrDecode(bytes, opts(`contents[${i}].parts[0].inlineData`))));
    expect(decode).toHaveBeenCalledTimes(1);
    expect(results[1]).toBe(results[0]);
    expect(results[2]).toBe(results[0]);
    expect(cache.stats()).toMatchObject({ misses: 1, joined: 2, entries: 1 });
  });

  it('does not cache failures, and names each waiting caller in the error', async () => {
    const cache = new ImageCache();
    const bytes = readFixture('dog-truncated.jpg');
    const labels = ['contents[0].parts[0].inlineData', 'contents[0].parts[1].inlineData'];
    const errors = await Promise.all(labels.map((l) => cache.getOrDecode(bytes, opts(l)).catch((e: unknown) => e)));
    errors.forEach((e, i) => {
      expect(e).toBeInstanceOf(MediaError);
      expect((e as MediaError).message.startsWith(`${labels[i]} is a truncated or corrupt JPEG`)).toBe(true);
    });
    expect(cache.stats()).toMatchObject({ misses: 1, joined: 1, entries: 0 });

    const flaky = vi
      .fn<(b: Buffer, o: DecodeOptions) => Promise<DecodedImage>>()
      .mockRejectedValueOnce(new Error('transient'))
      .mockImplementation(async (_b, o) => fakeDecoded(o.hash!, 4));
    const retrying = new ImageCache({ decode: flaky });
    await expect(retrying.getOrDecode(fakePng(1), opts())).rejects.toThrow('transient');
    await expect(retrying.getOrDecode(fakePng(1), opts())).resolves.toMatchObject({ width: 4 });
    expect(flaky).toHaveBeenCalledTimes(2);
  });

  it('checks the declared MIME type and pixel limit per caller, even on a hit', async () => {
    const cache = new ImageCache();
    const bytes = readFixture('dog.jpg');
    await cache.getOrDecode(bytes, opts());
    await expect(cache.getOrDecode(bytes, opts('p', { declaredMimeType: 'image/png' }))).rejects.toThrow(
      'p declared image/png but the bytes are JPEG.',
    );
    await expect(cache.getOrDecode(bytes, opts('p', { maxPixels: 1000 }))).rejects.toMatchObject({ reason: 'too-many-pixels' });
  });

  it('evicts the least recently used images to stay within the byte budget', async () => {
    const decode = vi.fn(async (_b: Buffer, o: DecodeOptions) => fakeDecoded(o.hash!, 1000)); // ~3.5 KB each
    const cache = new ImageCache({ decode, maxBytes: 8000 });
    const [one, two, three] = [fakePng(1), fakePng(2), fakePng(3)];
    const a = await cache.getOrDecode(one, opts());
    const b = await cache.getOrDecode(two, opts());
    await cache.getOrDecode(one, opts()); // touch: `two` is now the oldest
    const c = await cache.getOrDecode(three, opts());
    expect(cache.has(a.hash)).toBe(true);
    expect(cache.has(b.hash)).toBe(false);
    expect(cache.has(c.hash)).toBe(true);
    expect(cache.stats().bytes).toBeLessThanOrEqual(8000);
    expect(decode).toHaveBeenCalledTimes(3);
  });

  it('returns but does not keep an image larger than the whole budget', async () => {
    const cache = new ImageCache({ decode: async (_b, o) => fakeDecoded(o.hash!, 10_000), maxBytes: 8000 });
    const img = await cache.getOrDecode(fakePng(1), opts());
    expect(img.width).toBe(10_000);
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('peek returns a cached image by hash and refreshes it, without bytes', async () => {
    const decode = vi.fn(async (_b: Buffer, o: DecodeOptions) => fakeDecoded(o.hash!, 1000));
    const cache = new ImageCache({ decode, maxBytes: 8000 });
    const a = await cache.getOrDecode(fakePng(1), opts());
    const b = await cache.getOrDecode(fakePng(2), opts());
    expect(cache.peek(a.hash)).toBe(a); // a is now the most recently used
    expect(cache.peek('0'.repeat(64))).toBeUndefined();
    await cache.getOrDecode(fakePng(3), opts());
    expect(cache.has(a.hash)).toBe(true);
    expect(cache.has(b.hash)).toBe(false);
    expect(cache.stats().hits).toBe(1);
  });

  it('honours the entry limit', async () => {
    const cache = new ImageCache({ decode: async (_b, o) => fakeDecoded(o.hash!, 1), maxEntries: 2 });
    for (const n of [1, 2, 3]) await cache.getOrDecode(fakePng(n), opts());
    expect(cache.stats().entries).toBe(2);
  });
});
