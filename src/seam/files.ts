/**
 * What generation and providers need from stored files and image decoding, as small
 * interfaces: the Files service and the media cache implement them, providers and the
 * request resolver only see these shapes (so no provider imports files/ or generate/).
 */
import type { DecodedImage, ImageInfo, DecodeOptions } from '../media/decode.js';

export interface StoredImageFile {
  name: string;
  mimeType: string;
  path: string;
  sha256Hex: string;
}

/** The slice of the Files service that generation needs. */
export interface FileOpener {
  openForGeneration(project: string, ref: string): Promise<StoredImageFile>;
}

/** Decoding at the depth the caller needs: header facts (token counting) or pixels (engine). */
export interface ImageSource {
  info(bytes: Buffer, opts: DecodeOptions): Promise<ImageInfo>;
  decode(bytes: Buffer, opts: DecodeOptions): Promise<DecodedImage>;
  /** A decoded image already cached under this content hash, if any (skips reading a file). */
  cached(hash: string): DecodedImage | undefined;
}
