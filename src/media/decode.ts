/**
 * Image bytes → checked header facts, and → upright 8-bit sRGB pixels.
 *
 * Design: two depths of work, chosen by the caller, instead of one object with lazy pixels.
 *  - `inspectImage` reads the header only (sharp metadata: ~1 ms, no pixel buffers). It
 *    sniffs the format, checks the declared MIME type and the pixel limit, and returns the
 *    upright width/height. Token counting (countTokens, usageMetadata) needs nothing more.
 *  - `decodeImage` does the same checks, then decodes the pixels: EXIF orientation
 *    applied, alpha flattened onto white, CMYK/greyscale/16-bit converted, always 3-channel
 *    8-bit sRGB. The engine needs this; `ImageCache` keeps the results by content hash.
 *  - `validateImage` decodes fully (so truncated data is caught) and drops the pixels: the
 *    Files API's ACTIVE/FAILED decision.
 *  - `probeImage` is the header read that never throws, for callers that only want a guess.
 * A lazy `pixels()` closure would have to keep the compressed bytes alive inside every
 * cached image and hide when the expensive work happens; two plain functions keep memory
 * and cost visible at the call site.
 *
 * Why each check happens where it does:
 *  - The bytes decide the format (sniff.ts); the declared MIME type is only checked against
 *    them, so mislabelled uploads fail with a message that says both.
 *  - The decompression-bomb guard uses the header's width*height before any pixel is
 *    decoded; sharp's own `limitInputPixels` is set as well, as a second line.
 *  - `failOn: 'error'` makes libvips reject truncated data (a JPEG cut in half would
 *    otherwise decode "successfully" with a grey bottom half) while still accepting the
 *    recoverable warnings that many real camera files trigger ("extraneous bytes before
 *    marker", a corrupt entropy segment), as browsers do.
 *  - HEVC-coded HEIF goes through heic.ts (sharp has no HEVC decoder); AV1-coded HEIF
 *    (AVIF) and everything else goes through sharp's native pipeline. No per-pixel JS.
 *  - Alpha is composited onto white rather than dropped: transparent pixels often store
 *    black RGB, so dropping alpha turns dark-on-transparent logos into a black square.
 *
 * Orientation: `width`/`height`/`rgb` are always upright. `orientation` is the EXIF tag
 * that was applied (1 when none). For HEIF/AVIF it is always 1: libheif applies the
 * container's irot/imir boxes itself and EXIF orientation in HEIF is not applied on top
 * (see heic.ts).
 */
import { createHash } from 'node:crypto';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { MediaError } from './errors.js';
import { cameraFacts, type CameraFacts } from './exif.js';
import { decodeHevcHeif } from './heic.js';
import { isIdentitySrgbProfile } from './srgb-profile.js';
import {
  type ImageFormat,
  type SupportedImageFormat,
  SUPPORTED_FORMATS_TEXT,
  declaredMimeTypeMatches,
  formatLabel,
  isSupportedFormat,
  mimeTypeOf,
  normaliseMimeType,
  sniffImageFormat,
} from './sniff.js';

export interface DecodeOptions {
  /** The MIME type the client declared, checked against the bytes. Absent: not checked. */
  declaredMimeType?: string;
  /** Where the image came from, for messages: `contents[0].parts[1].inlineData`. */
  partLabel: string;
  /** Most pixels (width*height) the header may declare: the decompression-bomb guard. */
  maxPixels: number;
  /** sha256 hex of the bytes when the caller already has it (the cache does); saves a hash. */
  hash?: string;
  /**
   * Waits until this many pixels may be decoded (after the header is read, before any pixel
   * is); returns the release. The cache passes its PixelGate here so concurrent decodes of
   * huge images take turns instead of all peaking at once.
   */
  reservePixels?: (pixels: number) => Promise<() => void>;
}

/** What the header says, after the checks. Cheap: no pixels were decoded. */
export interface ImageInfo {
  /** sha256 hex of the original bytes. */
  hash: string;
  /** Sniffed from the bytes, not declared. */
  format: SupportedImageFormat;
  /** Canonical MIME type of `format`. */
  mimeType: string;
  /** Upright size: after EXIF orientation (and HEIF irot/imir) is applied. */
  width: number;
  height: number;
  /** EXIF orientation tag 1..8 that was applied; 1 when none (always 1 for HEIF/AVIF). */
  orientation: number;
  hasAlpha: boolean;
  isGreyscale: boolean;
  /** libvips interpretation of the stored pixels: 'srgb', 'cmyk', 'b-w', 'rgb16', 'grey16', … */
  colourSpace: string;
  /** Frames/pages in the file (animated GIF/WEBP, multi-page TIFF); only the first is decoded. */
  pages: number;
  /** Size of the original bytes. */
  bytes: number;
  /** Camera, time, lens and place from the EXIF block, when it has any. */
  camera?: CameraFacts;
}

/**
 * Decoded pixels plus the header facts. Shared through the cache between requests: treat
 * `rgb` as read-only.
 */
export interface DecodedImage extends ImageInfo {
  /** `rgb` is always 3-channel: alpha is flattened, grey and CMYK are converted. */
  channels: 3;
  /** Raw 8-bit sRGB, row-major, width*height*3 bytes, upright. */
  rgb: Buffer;
}

/** Header-only guess: what `probeImage` returns. */
export interface ImageProbe {
  format: SupportedImageFormat;
  mimeType: string;
  /** Upright size. */
  width: number;
  height: number;
}

export function imageHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Sharp's messages span lines and sometimes repeat; one short line reads better inside ours. */
function decoderDetail(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = [...new Set(text.split('\n').map((l) => l.trim()).filter(Boolean))].slice(0, 2);
  const joined = lines.join('; ');
  return joined.length > 160 ? `${joined.slice(0, 157)}...` : joined;
}

const megapixels = (pixels: number): string => {
  const mp = pixels / 1e6;
  return `${mp >= 10 ? Math.round(mp) : Number(mp.toFixed(1))} megapixels`;
};

/**
 * Sniffs the format and checks it is supported and agrees with the declared MIME type.
 * Pure and cheap (first bytes only); the cache runs it for every caller, hit or miss.
 */
export function checkImageFormat(
  bytes: Uint8Array,
  opts: Pick<DecodeOptions, 'declaredMimeType' | 'partLabel'>,
): SupportedImageFormat {
  const label = opts.partLabel;
  if (bytes.length === 0) throw MediaError.about(label, 'is empty (0 bytes); expected an image.', 'empty');
  const format: ImageFormat | null = sniffImageFormat(bytes);
  if (format === null)
    throw MediaError.about(
      label,
      `is not a supported image (${SUPPORTED_FORMATS_TEXT}): its bytes do not start like any of them.`,
      'unsupported',
    );
  if (!isSupportedFormat(format))
    throw MediaError.about(
      label,
      `is not a supported image (${SUPPORTED_FORMATS_TEXT}): the bytes are ${formatLabel(format)}.`,
      'unsupported',
    );
  if (!declaredMimeTypeMatches(opts.declaredMimeType, format))
    throw MediaError.about(
      label,
      `declared ${normaliseMimeType(opts.declaredMimeType ?? '')} but the bytes are ${formatLabel(format)}.`,
      'mime-mismatch',
    );
  return format;
}

/** Throws when width*height is over the limit. Orientation does not change the product. */
export function checkPixelLimit(
  width: number,
  height: number,
  opts: Pick<DecodeOptions, 'maxPixels' | 'partLabel'>,
): void {
  const pixels = width * height;
  if (pixels > opts.maxPixels)
    throw MediaError.about(
      opts.partLabel,
      `is ${width}x${height} pixels (${megapixels(pixels)}), more than the limit of ${opts.maxPixels} pixels (${megapixels(opts.maxPixels)}).`,
      'too-many-pixels',
    );
}

interface Header {
  info: ImageInfo;
  /** HEVC HEIF needs the wasm decoder; everything else decodes in sharp. */
  hevc: boolean;
  /** RGB with an embedded profile that is sRGB already: no colour transform needed (srgb-profile.ts). */
  srgbProfile: boolean;
}

/** Reads and checks the header. Never decodes pixels. */
async function readHeader(bytes: Buffer, opts: DecodeOptions): Promise<Header> {
  const format = checkImageFormat(bytes, opts);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch (err) {
    throw MediaError.about(
      opts.partLabel,
      `is a truncated or corrupt ${formatLabel(format)} image: its header cannot be read (${decoderDetail(err)}).`,
      'corrupt',
    );
  }
  if (!(meta.width > 0 && meta.height > 0))
    throw MediaError.about(opts.partLabel, `is a corrupt ${formatLabel(format)} image: its header gives no size.`, 'corrupt');
  // Multi-page files report the first page's size when pageHeight is set.
  const storedHeight = meta.pageHeight && meta.pageHeight > 0 ? meta.pageHeight : meta.height;
  checkPixelLimit(meta.width, storedHeight, opts);

  const heifFamily = meta.format === 'heif';
  const orientation = !heifFamily && meta.orientation && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
  const swap = orientation >= 5;
  const space = String(meta.space ?? 'unknown');
  return {
    hevc: heifFamily && meta.compression === 'hevc',
    srgbProfile: space === 'srgb' && isIdentitySrgbProfile(meta.icc),
    info: {
      hash: opts.hash ?? imageHash(bytes),
      format,
      mimeType: mimeTypeOf(format),
      width: swap ? storedHeight : meta.width,
      height: swap ? meta.width : storedHeight,
      orientation,
      hasAlpha: meta.hasAlpha,
      isGreyscale: space === 'b-w' || space === 'grey16',
      colourSpace: space,
      pages: meta.pages ?? 1,
      bytes: bytes.length,
      ...(() => {
        const camera = cameraFacts(meta.exif);
        return camera ? { camera } : {};
      })(),
    },
  };
}

const WHITE = { r: 255, g: 255, b: 255 };

/** Pixels as upright 8-bit sRGB, via sharp (or heic.ts for HEVC). */
async function decodePixels(bytes: Buffer, header: Header, opts: DecodeOptions): Promise<Buffer> {
  const { info } = header;
  let pipeline: Sharp;
  try {
    if (header.hevc) {
      const rgba = await decodeHevcHeif(bytes);
      pipeline = sharp(rgba.data, { raw: { width: rgba.width, height: rgba.height, channels: 4 }, limitInputPixels: opts.maxPixels });
    } else {
      // pages: 1 → the first frame of animations and multi-page TIFFs.
      pipeline = sharp(bytes, { failOn: 'error', limitInputPixels: opts.maxPixels, pages: 1 }).autoOrient();
      // Keeping an sRGB profile skips lcms's sRGB → sRGB transform; the pixels are the same.
      if (header.srgbProfile) pipeline = pipeline.keepIccProfile();
    }
    const { data, info: out } = await pipeline
      .flatten({ background: WHITE }) // no-op without alpha
      .toColourspace('srgb') // CMYK (via libvips' built-in profile), grey, 16-bit → 8-bit sRGB
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (out.channels !== 3 || out.width !== info.width || out.height !== info.height)
      throw new Error(`decoder produced ${out.width}x${out.height}x${out.channels}, header said ${info.width}x${info.height}x3`);
    return data;
  } catch (err) {
    if (err instanceof MediaError) throw err;
    const detail = decoderDetail(err);
    // Only reachable if libvips counts pixels differently from the header check above.
    if (/pixel limit/i.test(detail))
      throw MediaError.about(
        opts.partLabel,
        `has more pixels than the limit of ${opts.maxPixels} pixels (${megapixels(opts.maxPixels)}).`,
        'too-many-pixels',
      );
    throw MediaError.about(
      opts.partLabel,
      `is a truncated or corrupt ${formatLabel(info.format)} image: its pixel data cannot be decoded (${detail}).`,
      'corrupt',
    );
  }
}

/** Header facts after all cheap checks (format, declared MIME type, pixel limit). No pixels decoded. */
export async function inspectImage(bytes: Buffer, opts: DecodeOptions): Promise<ImageInfo> {
  return (await readHeader(bytes, opts)).info;
}

/** Fully decodes to upright 3-channel 8-bit sRGB. Throws MediaError naming `opts.partLabel`. */
export async function decodeImage(bytes: Buffer, opts: DecodeOptions): Promise<DecodedImage> {
  const header = await readHeader(bytes, opts);
  const release = await opts.reservePixels?.(header.info.width * header.info.height);
  try {
    const rgb = await decodePixels(bytes, header, opts);
    return { ...header.info, channels: 3, rgb };
  } finally {
    release?.();
  }
}

/**
 * Decodes fully so truncated or corrupt data is caught, then lets the pixels go. The
 * Files API calls this once per upload to choose ACTIVE or FAILED.
 */
export async function validateImage(bytes: Buffer, opts: DecodeOptions): Promise<ImageInfo> {
  const header = await readHeader(bytes, opts);
  const release = await opts.reservePixels?.(header.info.width * header.info.height);
  try {
    await decodePixels(bytes, header, opts);
  } finally {
    release?.();
  }
  return header.info;
}

/** Header-only format and upright size, or null for anything unsupported or unreadable. Never throws. */
export async function probeImage(bytes: Buffer): Promise<ImageProbe | null> {
  try {
    const { format, mimeType, width, height } = await inspectImage(bytes, {
      partLabel: 'image',
      maxPixels: Number.MAX_SAFE_INTEGER,
      hash: '',
    });
    return { format, mimeType, width, height };
  } catch {
    return null;
  }
}
