/**
 * The decoder skips the colour transform for embedded profiles that are sRGB already
 * (src/media/srgb-profile.ts). That is only right while the transform would change nothing:
 * these tests decode with the transform forced and compare every byte, and check that other
 * profiles are still converted.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/media/decode.js';
import { isIdentitySrgbProfile } from '../../src/media/srgb-profile.js';
import { readFixture } from '../support/fixtures.js';

const opts = { partLabel: 'contents[0].parts[0].inlineData', maxPixels: 100_000_000 };

/** What the decoder produced before the shortcut: sharp's pipeline with the profile converted. */
async function transformed(bytes: Buffer): Promise<Buffer> {
  return sharp(bytes, { failOn: 'error', pages: 1 })
    .autoOrient()
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer();
}

describe('embedded sRGB profiles', () => {
  it.each(['dog.jpg', 'person.jpg', 'dog-phone.jpg'] as const)('%s: recognised, and decoded bit-identically without the transform', async (name) => {
    const bytes = await readFixture(name);
    const { icc } = await sharp(bytes).metadata();
    expect(isIdentitySrgbProfile(icc)).toBe(true);
    const decoded = await decodeImage(bytes, opts);
    expect(decoded.rgb.equals(await transformed(bytes))).toBe(true);
  });

  it('a Display P3 photo is still converted to sRGB (its pixels change)', async () => {
    // A saturated gradient, saved as sharp saves a P3 photo: the profile matters for it.
    const w = 64;
    const raw = Buffer.alloc(w * w * 3);
    for (let y = 0; y < w; y++)
      for (let x = 0; x < w; x++) raw.set([x * 4, 255 - y * 4, (x * y) % 256], (y * w + x) * 3);
    const p3 = await sharp(raw, { raw: { width: w, height: w, channels: 3 } }).withIccProfile('p3').png().toBuffer();
    const { icc } = await sharp(p3).metadata();
    expect(icc?.length).toBeGreaterThan(0);
    expect(isIdentitySrgbProfile(icc)).toBe(false);
    const decoded = await decodeImage(p3, opts);
    expect(decoded.rgb.equals(await transformed(p3))).toBe(true);
    const kept = await sharp(p3).keepIccProfile().removeAlpha().raw().toBuffer();
    expect(decoded.rgb.equals(kept)).toBe(false);
  });

  it('no profile, a truncated profile, another profile of the same length: not recognised', () => {
    expect(isIdentitySrgbProfile(undefined)).toBe(false);
    expect(isIdentitySrgbProfile(new Uint8Array(100))).toBe(false);
    expect(isIdentitySrgbProfile(new Uint8Array(3144))).toBe(false);
  });
});
