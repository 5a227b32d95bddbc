/**
 * Embedded ICC profiles that are sRGB itself. sharp converts every image with an embedded
 * profile to sRGB through lcms; for these profiles that transform changes no pixel (decoded
 * bit-identically with and without it: test/media/srgb-profile.test.ts) but costs about half
 * of a small JPEG's decode (6 of 13 ms for a 640×424 camera photo, 2026-12-04). Most camera
 * and web JPEGs carry the first one.
 *
 * Recognised by the SHA-256 of the profile bytes, not by its description: a profile that
 * merely calls itself sRGB ("sRGB v4 preference", black-scaled variants) is converted as
 * before, so only profiles measured to be the identity are skipped.
 */
import { createHash } from 'node:crypto';

const SRGB_PROFILES = new Set([
  // "sRGB IEC61966-2.1", Hewlett-Packard 1998, 3144 bytes: the one cameras and editors embed.
  '2b3aa1645779a9e634744faf9b01e9102b0c9b88fd6deced7934df86b949af7e',
  // libvips' built-in "sRGB" (lcms, ICC v4), 480 bytes: what sharp embeds with withMetadata().
  'c56e1685d888f5edb92fe07f2750f387f8fe8e91b32ff8fb0b56bfbbb9458353',
]);

/** Whether `icc` is one of the profiles whose conversion to sRGB is the identity. */
export function isIdentitySrgbProfile(icc: Uint8Array | undefined): boolean {
  if (!icc || (icc.length !== 3144 && icc.length !== 480)) return false;
  return SRGB_PROFILES.has(createHash('sha256').update(icc).digest('hex'));
}
