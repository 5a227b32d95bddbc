/**
 * Image format detection from magic bytes, and the MIME types that go with each format.
 *
 * The bytes decide the format, never the declared MIME type: clients mislabel images all
 * the time (a `.png` that is really a JPEG), and only the bytes tell the decoder what to do.
 * The declared type is still checked against the bytes (`declaredMimeTypeMatches`) so that
 * a caller who says `image/png` and sends a PDF gets a clear 400 instead of a surprise.
 *
 * Pure functions, no I/O: everything here looks at the first few dozen bytes only.
 */

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'heic' | 'heif' | 'avif' | 'tiff' | 'bmp';

/** Formats the decoder accepts, in the order error messages list them. */
export const SUPPORTED_FORMATS = ['png', 'jpeg', 'webp', 'heic', 'heif', 'gif', 'avif', 'tiff'] as const;
export type SupportedImageFormat = (typeof SUPPORTED_FORMATS)[number];

const CANONICAL_MIME: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
  avif: 'image/avif',
  tiff: 'image/tiff',
  bmp: 'image/bmp',
};

/**
 * Every MIME spelling we accept as a claim about a format. `image/jpg` and `image/pjpeg`
 * are not registered types but real clients send them. `image/heic` and `image/heif` are
 * interchangeable: HEIF is the container, HEIC is HEIF with HEVC inside, and files carry
 * both brands (`mif1` + `heic`), so clients pick either name for the same bytes. AVIF is a
 * HEIF profile too, so `image/heif` also covers AVIF bytes (but `image/heic` does not: that
 * name promises HEVC).
 */
const MIME_ALIASES: Record<ImageFormat, readonly string[]> = {
  png: ['image/png', 'image/x-png', 'image/apng'],
  jpeg: ['image/jpeg', 'image/jpg', 'image/pjpeg'],
  webp: ['image/webp'],
  gif: ['image/gif'],
  heic: ['image/heic', 'image/heif', 'image/heic-sequence', 'image/heif-sequence'],
  heif: ['image/heif', 'image/heic', 'image/heif-sequence', 'image/heic-sequence'],
  avif: ['image/avif', 'image/avif-sequence', 'image/heif'],
  tiff: ['image/tiff', 'image/tif', 'image/x-tiff'],
  bmp: ['image/bmp', 'image/x-bmp', 'image/x-ms-bmp'],
};

const LABEL: Record<ImageFormat, string> = {
  png: 'PNG',
  jpeg: 'JPEG',
  webp: 'WEBP',
  gif: 'GIF',
  heic: 'HEIC',
  heif: 'HEIF',
  avif: 'AVIF',
  tiff: 'TIFF',
  bmp: 'BMP',
};

/** `PNG, JPEG, WEBP, HEIC, HEIF, GIF, AVIF, TIFF`, for error messages. */
export const SUPPORTED_FORMATS_TEXT = SUPPORTED_FORMATS.map((f) => LABEL[f]).join(', ');

export function isSupportedFormat(format: ImageFormat): format is SupportedImageFormat {
  return (SUPPORTED_FORMATS as readonly string[]).includes(format);
}

/** The canonical MIME type of a format (`jpeg` → `image/jpeg`). */
export function mimeTypeOf(format: ImageFormat): string {
  return CANONICAL_MIME[format];
}

/** Upper-case display name (`JPEG`), for messages. */
export function formatLabel(format: ImageFormat): string {
  return LABEL[format];
}

/** `Image/JPEG; charset=binary` → `image/jpeg`. */
export function normaliseMimeType(mimeType: string): string {
  return (mimeType.split(';')[0] ?? '').trim().toLowerCase();
}

/** The format a MIME type names, or null if it names none we know (`image/jpg` → `jpeg`). */
export function formatOfMimeType(mimeType: string): ImageFormat | null {
  const m = normaliseMimeType(mimeType);
  // heic before heif and avif: `image/heif` is listed under several formats; the first wins.
  const order: ImageFormat[] = ['png', 'jpeg', 'webp', 'gif', 'heic', 'heif', 'avif', 'tiff', 'bmp'];
  return order.find((f) => MIME_ALIASES[f].includes(m)) ?? null;
}

/**
 * Whether a declared MIME type agrees with the sniffed format. No declaration (undefined,
 * empty, `application/octet-stream`) makes no claim and so agrees with anything; deciding
 * whether a declaration is required at all is the wire layer's job, not this one's.
 */
export function declaredMimeTypeMatches(declared: string | undefined, format: ImageFormat): boolean {
  if (declared === undefined) return true;
  const m = normaliseMimeType(declared);
  if (m === '' || m === 'application/octet-stream') return true;
  return MIME_ALIASES[format].includes(m);
}

const ascii = (bytes: Uint8Array, start: number, end: number): string =>
  end > bytes.length ? '' : String.fromCharCode(...bytes.subarray(start, end));

const startsWith = (bytes: Uint8Array, prefix: readonly number[], at = 0): boolean =>
  bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);

// HEIF family brands (ISO/IEC 23008-12 and the AVIF spec). `heic`/`heix` are single
// images coded with HEVC, `hevc`/`hevx` HEVC image sequences; `mif1`/`msf1` are the
// generic HEIF image/sequence brands; `heim`/`heis` are the multi-layer / scalable HEVC
// brands; `avif`/`avis` are AV1 images / sequences.
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx']);
const HEIF_BRANDS = new Set(['mif1', 'msf1', 'heim', 'heis', 'miaf']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

/**
 * Classifies an ISOBMFF `ftyp` box. The major brand decides when it is specific; when it is
 * the generic `mif1`/`msf1` (common: many encoders write `mif1` major with `heic` or `avif`
 * among the compatible brands) the compatible brands refine it. Other ISOBMFF files (MP4
 * video, QuickTime, CR3 raw) carry none of these brands and are not images to us.
 */
function sniffFtyp(bytes: Uint8Array): ImageFormat | null {
  if (ascii(bytes, 4, 8) !== 'ftyp') return null;
  const major = ascii(bytes, 8, 12);
  if (HEIC_BRANDS.has(major)) return 'heic';
  if (AVIF_BRANDS.has(major)) return 'avif';
  const boxSize = ((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
  const end = Math.min(bytes.length, boxSize >= 16 ? boxSize : bytes.length, 16 + 4 * 64);
  const compatible: string[] = [];
  for (let i = 16; i + 4 <= end; i += 4) compatible.push(ascii(bytes, i, i + 4));
  if (HEIF_BRANDS.has(major)) {
    if (compatible.some((b) => AVIF_BRANDS.has(b))) return 'avif';
    if (compatible.some((b) => HEIC_BRANDS.has(b))) return 'heic';
    return 'heif';
  }
  // Unusual major brand but an image brand among the compatible ones.
  if (compatible.some((b) => AVIF_BRANDS.has(b))) return 'avif';
  if (compatible.some((b) => HEIC_BRANDS.has(b))) return 'heic';
  if (compatible.some((b) => b === 'mif1' || b === 'msf1')) return 'heif';
  return null;
}

/** BMP's `BM` is only two bytes; also require a known DIB header size so random data rarely matches. */
function looksLikeBmp(bytes: Uint8Array): boolean {
  if (!startsWith(bytes, [0x42, 0x4d]) || bytes.length < 18) return false;
  const dibSize = (bytes[14] ?? 0) | ((bytes[15] ?? 0) << 8) | ((bytes[16] ?? 0) << 16) | ((bytes[17] ?? 0) << 24);
  return [12, 16, 40, 52, 56, 64, 108, 124].includes(dibSize);
}

/**
 * The image format the bytes are, from their magic numbers, or null when they match none.
 * Recognises BMP too so that the error can say "BMP is not supported" rather than
 * "unrecognised"; callers check `isSupportedFormat`.
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  const gif = ascii(bytes, 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return 'gif';
  // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(bytes, [0x49, 0x49, 0x2b, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff';
  const isobmff = sniffFtyp(bytes);
  if (isobmff) return isobmff;
  if (looksLikeBmp(bytes)) return 'bmp';
  return null;
}
