import { createHash } from 'node:crypto';
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { type DecodeOptions, decodeImage, inspectImage, probeImage, validateImage } from '../../src/media/decode.js';
import { MediaError } from '../../src/media/errors.js';
import { type FixtureName, readFixture } from '../support/fixtures.js';

const LABEL = 'contents[0].parts[1].inlineData';
const opts = (extra: Partial<DecodeOptions> = {}): DecodeOptions => ({ partLabel: LABEL, maxPixels: 100_000_000, ...extra });

/** Mean absolute difference per byte: how alike two same-sized RGB buffers are. */
function meanAbsDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i]! - b[i]!);
  return d / a.length;
}

async function expectMediaError(p: Promise<unknown>, reason: MediaError['reason'], ...fragments: string[]): Promise<MediaError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaError);
  const m = err as MediaError;
  expect(m.reason).toBe(reason);
  expect(m.message.startsWith(`${LABEL} `)).toBe(true);
  for (const f of fragments) expect(m.message).toContain(f);
  return m;
}

const reference = async () => decodeImage(readFixture('dog.jpg'), opts());

describe('decodeImage: formats', () => {
  it.each<[FixtureName, string, number]>([
    // name, sniffed MIME type, how close to the JPEG decode it must be (lossy re-encodes drift)
    ['dog.png', 'image/png', 0],
    ['dog.tiff', 'image/tiff', 0],
    ['dog.webp', 'image/webp', 6],
    ['dog.gif', 'image/gif', 6],
    ['dog.avif', 'image/avif', 8],
    ['dog.heic', 'image/heic', 6],
  ])('%s decodes to 768x576 RGB like the JPEG', async (name, mimeType, tolerance) => {
    const ref = await reference();
    const img = await decodeImage(readFixture(name), opts());
    expect(img).toMatchObject({ mimeType, width: 768, height: 576, channels: 3, orientation: 1, bytes: readFixture(name).length });
    expect(img.rgb.length).toBe(768 * 576 * 3);
    expect(meanAbsDiff(img.rgb, ref.rgb)).toBeLessThanOrEqual(tolerance);
  });

  it('reports the sniffed type, hash and header facts of a JPEG', async () => {
    const bytes = readFixture('dog.jpg');
    const img = await decodeImage(bytes, opts({ declaredMimeType: 'image/jpg' }));
    expect(img).toMatchObject({
      format: 'jpeg',
      mimeType: 'image/jpeg',
      hasAlpha: false,
      isGreyscale: false,
      colourSpace: 'srgb',
      pages: 1,
      hash: createHash('sha256').update(bytes).digest('hex'),
    });
  });

  it('applies EXIF orientation 6: stored 768x576, upright 576x768', async () => {
    const img = await decodeImage(readFixture('dog-exif6.jpg'), opts());
    expect(img).toMatchObject({ width: 576, height: 768, orientation: 6 });
    const rotated = await sharp(readFixture('dog.jpg')).rotate(90).raw().toBuffer();
    expect(meanAbsDiff(img.rgb, rotated)).toBeLessThan(4);
  });

  it("applies a HEIC's irot box (heic-decode output is already rotated)", async () => {
    const img = await decodeImage(readFixture('dog-irot.heic'), opts());
    expect(img).toMatchObject({ format: 'heic', width: 576, height: 768, orientation: 1 });
    const rotated = await sharp(readFixture('dog.jpg')).rotate(90).raw().toBuffer();
    expect(meanAbsDiff(img.rgb, rotated)).toBeLessThan(6);
  });

  it('turns greyscale into 3-channel RGB with equal channels', async () => {
    const img = await decodeImage(readFixture('dog-grey.jpg'), opts());
    expect(img).toMatchObject({ channels: 3, isGreyscale: true, colourSpace: 'b-w', width: 768, height: 576 });
    expect(img.rgb.length).toBe(768 * 576 * 3);
    for (let i = 0; i < img.rgb.length; i += 3 * 97) {
      expect(img.rgb[i]).toBe(img.rgb[i + 1]);
      expect(img.rgb[i]).toBe(img.rgb[i + 2]);
    }
  });

  it('turns CMYK into sRGB RGB', async () => {
    const img = await decodeImage(readFixture('dog-cmyk.jpg'), opts());
    expect(img).toMatchObject({ channels: 3, colourSpace: 'cmyk', isGreyscale: false });
    expect(meanAbsDiff(img.rgb, (await reference()).rgb)).toBeLessThan(15);
  });

  it('flattens transparency onto white instead of dropping alpha', async () => {
    const img = await decodeImage(readFixture('dog-transparent.png'), opts());
    expect(img.hasAlpha).toBe(true);
    expect(img.rgb.every((v) => v === 255)).toBe(true);
  });

  it('decodes the first frame of an animation and reports the frame count', async () => {
    const red = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#ff0000' } }).png().toBuffer();
    const blue = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#0000ff' } }).png().toBuffer();
    for (const encode of [(s: Sharp) => s.gif(), (s: Sharp) => s.webp({ lossless: true })]) {
      const animation = await encode(sharp([red, blue], { join: { animated: true } })).toBuffer();
      const img = await decodeImage(animation, opts());
      expect(img).toMatchObject({ width: 64, height: 48, pages: 2 });
      expect([...img.rgb.subarray(0, 3)]).toEqual([255, 0, 0]);
    }
  });

  it('reduces 16-bit PNG to 8-bit RGB', async () => {
    const png16 = await sharp(readFixture('dog.jpg')).toColourspace('rgb16').png().toBuffer();
    const img = await decodeImage(png16, opts());
    expect(img.colourSpace).toBe('rgb16');
    expect(meanAbsDiff(img.rgb, (await reference()).rgb)).toBeLessThan(1);
  });

  it('decodes a 1x1 PNG', async () => {
    const img = await decodeImage(readFixture('pixel-1x1.png'), opts());
    expect(img).toMatchObject({ width: 1, height: 1 });
    expect([...img.rgb]).toEqual([255, 0, 0]);
  });

  it('decodes the 12-megapixel JPEG', async () => {
    const img = await decodeImage(readFixture('photo-12mp.jpg'), opts());
    expect(img).toMatchObject({ width: 4000, height: 3000 });
    expect(img.rgb.length).toBe(36_000_000);
  });
});

describe('decodeImage: rejections', () => {
  it('rejects empty bytes', async () => {
    await expectMediaError(decodeImage(Buffer.alloc(0), opts()), 'empty', 'is empty');
  });

  it('rejects bytes that are no image', async () => {
    await expectMediaError(
      decodeImage(Buffer.from('%PDF-1.7 not an image'), opts()),
      'unsupported',
      'is not a supported image (PNG, JPEG, WEBP, HEIC, HEIF, GIF, AVIF, TIFF)',
    );
  });

  it('rejects a recognised but unsupported format by name', async () => {
    const bmp = Buffer.alloc(70);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(40, 14);
    await expectMediaError(decodeImage(bmp, opts()), 'unsupported', 'is not a supported image', 'BMP');
  });

  it('rejects a declared MIME type that disagrees with the bytes', async () => {
    const err = await expectMediaError(decodeImage(readFixture('dog.jpg'), opts({ declaredMimeType: 'image/png' })), 'mime-mismatch');
    expect(err.message).toBe(`${LABEL} declared image/png but the bytes are JPEG.`);
  });

  it('accepts image/heif for HEIC bytes and image/jpg for JPEG', async () => {
    await expect(inspectImage(readFixture('dog.heic'), opts({ declaredMimeType: 'image/heif' }))).resolves.toMatchObject({ format: 'heic' });
    await expect(inspectImage(readFixture('dog.jpg'), opts({ declaredMimeType: 'image/jpg' }))).resolves.toMatchObject({ format: 'jpeg' });
  });

  it('rejects a JPEG cut in half instead of decoding it half-grey', async () => {
    await expectMediaError(decodeImage(readFixture('dog-truncated.jpg'), opts()), 'corrupt', 'truncated or corrupt JPEG');
  });

  it('rejects truncated PNG, WEBP and HEIC data', async () => {
    for (const name of ['dog.png', 'dog.webp', 'dog.heic'] as const) {
      const bytes = readFixture(name);
      await expectMediaError(decodeImage(bytes.subarray(0, bytes.length >> 1), opts()), 'corrupt', 'truncated or corrupt');
    }
  });

  it('rejects a HEIC whose header reads but whose HEVC data does not decode', async () => {
    const heic = Buffer.from(readFixture('dog.heic'));
    const hvcC = heic.indexOf('hvcC');
    heic.fill(0, hvcC + 26, hvcC + 110); // wipe the HEVC parameter sets
    await expect(inspectImage(heic, opts())).resolves.toMatchObject({ width: 768 });
    await expectMediaError(decodeImage(heic, opts()), 'corrupt', 'truncated or corrupt HEIC', 'pixel data cannot be decoded');
  });

  it('rejects a valid signature followed by garbage', async () => {
    const garbage = Buffer.concat([readFixture('dog.png').subarray(0, 8), Buffer.alloc(500, 0x5a)]);
    await expectMediaError(decodeImage(garbage, opts()), 'corrupt', 'truncated or corrupt PNG');
    const jpegGarbage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(500, 0x11)]);
    await expectMediaError(decodeImage(jpegGarbage, opts()), 'corrupt', 'JPEG');
  });

  it('rejects a decompression bomb from its header, fast and without allocating pixels', async () => {
    const bomb = readFixture('bomb.png');
    expect(bomb.length).toBeLessThan(1_000_000);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const err = await expectMediaError(decodeImage(bomb, opts()), 'too-many-pixels', '50000x50000', '100000000 pixels');
    expect(performance.now() - started).toBeLessThan(500);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    expect(err.message).toBe(
      `${LABEL} is 50000x50000 pixels (2500 megapixels), more than the limit of 100000000 pixels (100 megapixels).`,
    );
    await expectMediaError(validateImage(bomb, opts()), 'too-many-pixels');
    await expectMediaError(inspectImage(bomb, opts()), 'too-many-pixels');
  });

  it('applies the configured pixel limit to ordinary images', async () => {
    await expectMediaError(decodeImage(readFixture('dog.jpg'), opts({ maxPixels: 400_000 })), 'too-many-pixels', '768x576');
    await expect(decodeImage(readFixture('dog.jpg'), opts({ maxPixels: 768 * 576 }))).resolves.toBeDefined();
  });
});

describe('inspectImage, validateImage, probeImage', () => {
  it('inspectImage reads the header only: upright size, no pixels', async () => {
    const info = await inspectImage(readFixture('dog-exif6.jpg'), opts());
    expect(info).toMatchObject({ width: 576, height: 768, orientation: 6, format: 'jpeg' });
    expect('rgb' in info).toBe(false);
    // Truncation is invisible to a header read; only a full decode finds it.
    await expect(inspectImage(readFixture('dog-truncated.jpg'), opts())).resolves.toMatchObject({ width: 768 });
  });

  it('validateImage decodes fully, so it catches truncation, and keeps no pixels', async () => {
    await expectMediaError(validateImage(readFixture('dog-truncated.jpg'), opts()), 'corrupt');
    const info = await validateImage(readFixture('dog.heic'), opts());
    expect(info).toMatchObject({ format: 'heic', width: 768, height: 576 });
    expect('rgb' in info).toBe(false);
  });

  it('probeImage never throws', async () => {
    await expect(probeImage(readFixture('dog-irot.heic'))).resolves.toEqual({
      format: 'heic',
      mimeType: 'image/heic',
      width: 576,
      height: 768,
    });
    await expect(probeImage(readFixture('bomb.png'))).resolves.toMatchObject({ width: 50000, height: 50000 });
    await expect(probeImage(Buffer.from('nope'))).resolves.toBeNull();
    await expect(probeImage(Buffer.alloc(0))).resolves.toBeNull();
    await expect(probeImage(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(10)]))).resolves.toBeNull();
  });
});
