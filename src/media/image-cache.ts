/**
 * Decoded images by content hash, so the same bytes decode once: the same image twice in
 * one request, a file asked about again and again, a client resending the same photo.
 *
 * - LRU with a byte budget over the decoded pixels (`rgb`), the only large part; the
 *   budget, not an entry count, is what keeps memory bounded (one 12 MP image is 36 MB).
 *   An image bigger than the whole budget is returned but not kept.
 * - Concurrent requests for the same hash share one in-flight decode.
 * - Failures are not cached: the next request decodes again (and fails again, cheaply;
 *   a bad image is rejected at the header for all but truncation).
 * - Per-caller checks run on every call, hit or miss: the declared MIME type and the part
 *   label belong to the caller, not to the bytes. A caller that joins a decode which then
 *   fails sees the error re-addressed to its own part (`MediaError.forPart`).
 * - The pixel limit is checked per call too; a decode started by a caller with a lower
 *   limit than yours can fail for you (limits come from one server config in practice).
 *
 * Entries are shared: treat `DecodedImage.rgb` as read-only.
 *
 * An instance per app (built where the config is), not a module singleton.
 */
import { type DecodeOptions, type DecodedImage, checkImageFormat, checkPixelLimit, decodeImage, imageHash } from './decode.js';
import { MediaError } from './errors.js';
import { PixelGate } from './pixel-gate.js';

export interface ImageCacheOptions {
  /** Most bytes of decoded pixels kept. Default 256 MiB. */
  maxBytes?: number;
  /** Most images kept regardless of size. Default 256. */
  maxEntries?: number;
  /** Most pixels decoding at once across all callers (see PixelGate). Default 150 M. */
  maxDecodingPixels?: number;
  /** The decoder; injectable for tests. */
  decode?: (bytes: Buffer, opts: DecodeOptions) => Promise<DecodedImage>;
}

export interface ImageCacheStats {
  hits: number;
  misses: number;
  /** Calls that joined a decode already in flight. */
  joined: number;
  entries: number;
  bytes: number;
  /** Pixels being decoded now, and decodes waiting for the pixel budget. */
  decodingPixels: number;
  waiting: number;
}

/** What an entry costs against the budget: the pixels plus a little for the object itself. */
const sizeOf = (img: DecodedImage): number => img.rgb.length + 512;

export class ImageCache {
  private readonly maxBytes: number;
  private readonly maxEntries: number;
  private readonly decode: (bytes: Buffer, opts: DecodeOptions) => Promise<DecodedImage>;
  /** Map iteration order is insertion order: first = least recently used. */
  private readonly entries = new Map<string, DecodedImage>();
  private readonly inFlight = new Map<string, Promise<DecodedImage>>();
  private readonly gate: PixelGate;
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private joined = 0;

  constructor(opts: ImageCacheOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.maxEntries = opts.maxEntries ?? 256;
    this.decode = opts.decode ?? decodeImage;
    this.gate = new PixelGate(opts.maxDecodingPixels ?? 150_000_000);
  }

  /** The decoded image for these bytes, from the cache, a decode in flight, or a new decode. */
  async getOrDecode(bytes: Buffer, opts: DecodeOptions): Promise<DecodedImage> {
    // Cheap per-caller checks first, so a mislabelled request never gets a cached answer.
    checkImageFormat(bytes, opts);
    const hash = opts.hash ?? imageHash(bytes);

    const cached = this.entries.get(hash);
    if (cached) {
      this.hits++;
      this.entries.delete(hash); // re-insert: now most recently used
      this.entries.set(hash, cached);
      checkPixelLimit(cached.width, cached.height, opts);
      return cached;
    }

    let pending = this.inFlight.get(hash);
    if (pending) {
      this.joined++;
    } else {
      this.misses++;
      pending = this.decode(bytes, { ...opts, hash, reservePixels: (n) => this.gate.reserve(n) });
      this.inFlight.set(hash, pending);
      // Settle bookkeeping once, whoever awaits; errors are handled by the awaiting callers.
      pending.then(
        (img) => {
          this.inFlight.delete(hash);
          this.store(hash, img);
        },
        () => this.inFlight.delete(hash),
      );
    }

    try {
      const img = await pending;
      checkPixelLimit(img.width, img.height, opts);
      return img;
    } catch (err) {
      throw err instanceof MediaError ? err.forPart(opts.partLabel) : err;
    }
  }

  /** Waits for `pixels` of the shared decode budget; for decodes outside the cache (upload validation). */
  reservePixels(pixels: number): Promise<() => void> {
    return this.gate.reserve(pixels);
  }

  /** Whether a decoded image for this hash is cached (not counting decodes in flight). */
  has(hash: string): boolean {
    return this.entries.has(hash);
  }

  /**
   * The cached image for a hash, if any, without the bytes: lets a caller that knows the
   * hash already (a stored file) skip reading them. Counts as a use (hit, most recently
   * used). Runs no per-caller checks: only for bytes that were checked when stored, such as
   * a Files API upload validated at upload time.
   */
  peek(hash: string): DecodedImage | undefined {
    const cached = this.entries.get(hash);
    if (!cached) return undefined;
    this.hits++;
    this.entries.delete(hash);
    this.entries.set(hash, cached);
    return cached;
  }

  stats(): ImageCacheStats {
    return { hits: this.hits, misses: this.misses, joined: this.joined, entries: this.entries.size, bytes: this.bytes, ...this.gate.stats() };
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private store(hash: string, img: DecodedImage): void {
    const size = sizeOf(img);
    if (size > this.maxBytes || this.entries.has(hash)) return;
    this.entries.set(hash, img);
    this.bytes += size;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.maxBytes && this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
      this.bytes -= sizeOf(old);
    }
  }
}
