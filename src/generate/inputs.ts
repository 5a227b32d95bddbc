/**
 * Request contents → engine inputs. Every image part becomes bytes (inline base64 or a
 * stored file), is checked and decoded once through the content-hash cache, and keeps a
 * label (`contents[0].parts[1].inlineData`) so any error names the part it is about.
 */
import { readFile } from 'node:fs/promises';
import type { DecodedImage, ImageInfo, DecodeOptions } from '../media/decode.js';
import { formatOfMimeType } from '../media/sniff.js';
import { ApiError, invalidArgument } from '../server/errors.js';
import { decodeBase64 } from '../wire/base64.js';
import type { WireContent, WirePart } from '../wire/request.js';
import type { InputPart, InputTurn } from '../engine/engine.js';

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

export interface ResolveContext {
  project: string;
  files: FileOpener;
  images: ImageSource;
  maxPixels: number;
  maxImages: number;
}

/** One image part, before decoding: where its bytes are and how to label it. */
interface ImageRef {
  label: string;
  declaredMimeType: string | undefined;
  /** Finds the bytes; reading them is a separate step so a cached image skips the read. */
  open: () => Promise<{ read: () => Promise<Buffer>; hash?: string; fileName?: string }>;
}

export interface ImagePartInfo {
  label: string;
  info: ImageInfo;
  /** Part-level mediaResolution level, if set (Gemini 3). */
  mediaResolution?: string;
}

const partLabel = (contentPath: string, j: number, kind: string) => `${contentPath}.parts[${j}].${kind}`;

/** Turns with decoded images, for the engine. */
export async function resolveTurns(contents: WireContent[], ctx: ResolveContext): Promise<InputTurn[]> {
  checkImageCount(contents, ctx.maxImages);
  return Promise.all(
    contents.map(async (content, i) => ({
      role: content.role === 'model' ? ('model' as const) : ('user' as const),
      parts: await Promise.all(content.parts.map((part, j) => resolvePart(part, `contents[${i}]`, j, ctx))),
    })),
  );
}

/** Header facts of every image part, for token counting: no pixels are decoded. */
export async function inspectImageParts(contents: WireContent[], ctx: ResolveContext, pathPrefix = 'contents'): Promise<ImagePartInfo[]> {
  checkImageCount(contents, ctx.maxImages);
  const jobs: Array<Promise<ImagePartInfo>> = [];
  contents.forEach((content, i) =>
    content.parts.forEach((part, j) => {
      const ref = imageRefOf(part, `${pathPrefix}[${i}]`, j, ctx);
      if (!ref) return;
      jobs.push(
        (async () => {
          const { read, hash } = await ref.open();
          const cached = hash ? ctx.images.cached(hash) : undefined;
          const info = cached ?? (await ctx.images.info(await read(), decodeOptions(ref, ctx, hash)));
          return { label: ref.label, info, ...(part.mediaResolution?.level ? { mediaResolution: part.mediaResolution.level } : {}) };
        })(),
      );
    }),
  );
  return Promise.all(jobs);
}

async function resolvePart(part: WirePart, contentPath: string, j: number, ctx: ResolveContext): Promise<InputPart> {
  if (part.text !== undefined) return { kind: 'text', text: part.text };
  const ref = imageRefOf(part, contentPath, j, ctx);
  if (!ref) throw invalidArgument(`${contentPath}.parts[${j}]: this kind of part is not supported in a request to Ocellus.`);
  const { read, hash, fileName } = await ref.open();
  const image = (hash ? ctx.images.cached(hash) : undefined) ?? (await ctx.images.decode(await read(), decodeOptions(ref, ctx, hash)));
  const level = part.mediaResolution?.level;
  return { kind: 'image', label: ref.label, image, ...(fileName ? { fileName } : {}), ...(level ? { mediaResolution: level } : {}) };
}

function decodeOptions(ref: ImageRef, ctx: ResolveContext, hash: string | undefined): DecodeOptions {
  return {
    partLabel: ref.label,
    maxPixels: ctx.maxPixels,
    ...(ref.declaredMimeType ? { declaredMimeType: ref.declaredMimeType } : {}),
    ...(hash ? { hash } : {}),
  };
}

function imageRefOf(part: WirePart, contentPath: string, j: number, ctx: ResolveContext): ImageRef | undefined {
  if (part.inlineData) {
    const label = partLabel(contentPath, j, 'inlineData');
    const { mimeType, data } = part.inlineData;
    checkImageMimeType(mimeType, label);
    return {
      label,
      declaredMimeType: mimeType,
      open: async () => {
        const decoded = decodeBase64(data);
        if (!decoded.ok) throw invalidArgument(`${label}.data ${decoded.reason}.`, `${label}.data`);
        if (decoded.bytes.length === 0) throw invalidArgument(`${label}.data is empty.`, `${label}.data`);
        const bytes = decoded.bytes;
        return { read: async () => bytes };
      },
    };
  }
  if (part.fileData) {
    const label = partLabel(contentPath, j, 'fileData');
    const { mimeType, fileUri } = part.fileData;
    checkImageMimeType(mimeType, label);
    return {
      label,
      declaredMimeType: mimeType,
      open: async () => {
        const file = await ctx.files.openForGeneration(ctx.project, fileUri).catch((err: unknown) => {
          throw err instanceof ApiError ? err.about(label) : err;
        });
        return { read: () => readFile(file.path), hash: file.sha256Hex, fileName: file.name };
      },
    };
  }
  return undefined;
}

/** Ocellus understands images only: say so for PDFs, audio and video instead of failing to decode them. */
function checkImageMimeType(mimeType: string | undefined, label: string): void {
  if (mimeType === undefined || mimeType === '') return;
  const base = mimeType.split(';')[0]!.trim().toLowerCase();
  if (!base.startsWith('image/'))
    throw invalidArgument(
      `${label}: MIME type ${mimeType} is not supported; Ocellus understands images (PNG, JPEG, WEBP, HEIC, HEIF, GIF, AVIF, TIFF).`,
      `${label}.mime_type`,
    );
  if (!formatOfMimeType(base))
    throw invalidArgument(`${label}: unsupported image MIME type ${mimeType}.`, `${label}.mime_type`);
}

function checkImageCount(contents: WireContent[], maxImages: number): void {
  const n = contents.reduce((sum, c) => sum + c.parts.filter((p) => p.inlineData || p.fileData).length, 0);
  if (n > maxImages) throw invalidArgument(`The request has ${n} images; at most ${maxImages} images are allowed per request.`);
}
