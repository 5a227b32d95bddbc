/**
 * Request contents → engine inputs. Every image part becomes bytes (inline base64 or a
 * stored file), is checked and decoded once through the content-hash cache, and keeps a
 * label (`contents[0].parts[1].inlineData`) so any error names the part it is about.
 */
import { nextTurn } from '../loop-turns.js';
import { readFile } from 'node:fs/promises';
import type { DecodedImage, ImageInfo, DecodeOptions } from '../media/decode.js';
import { formatOfMimeType } from '../media/sniff.js';
import { ApiError, invalidArgument } from '../errors.js';
import { decodeBase64 } from '../wire/base64.js';
import type { WireContent, WirePart } from '../wire/request.js';
import type { InputPart, InputTurn } from '../seam/request.js';
import type { FileOpener, ImageSource } from '../seam/files.js';

export type { FileOpener, ImageSource, StoredImageFile } from '../seam/files.js';

export interface ResolveContext {
  project: string;
  files: FileOpener;
  images: ImageSource;
  maxPixels: number;
  maxImages: number;
  /** Most pixels of all images of one request together (decoded pixels take 3 bytes each). */
  maxRequestPixels?: number;
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

/**
 * Turns with decoded images, for the engine. Two passes: every image's header first (sizes,
 * ~1 ms each, no pixels), so the request's pixel budget is checked before any image is
 * decoded; then the decodes.
 */
export async function resolveTurns(contents: WireContent[], ctx: ResolveContext): Promise<InputTurn[]> {
  checkImageCount(contents, ctx.maxImages);
  const located = await Promise.all(
    contents.map((content, i) => Promise.all(content.parts.map((part, j) => locatePart(part, `contents[${i}]`, j, ctx)))),
  );
  checkPixelBudget(
    located.flat().flatMap((p) => (p.kind === 'image' ? [{ label: p.label, width: p.width, height: p.height }] : [])),
    ctx.maxRequestPixels,
  );
  return Promise.all(
    contents.map(async (content, i) => ({
      role: content.role === 'model' ? ('model' as const) : ('user' as const),
      parts: await Promise.all(located[i]!.map((p) => (p.kind === 'image' ? p.decode() : p.part))),
    })),
  );
}

/** A part after the header pass: text as is, or an image with its size and a deferred decode. */
type LocatedPart =
  | { kind: 'text'; part: InputPart }
  | { kind: 'image'; label: string; width: number; height: number; decode: () => Promise<InputPart> };

/** Refuses a request whose images add up to more pixels than the budget, naming the part that crosses it. */
export function checkPixelBudget(images: Array<{ label: string; width: number; height: number }>, maxRequestPixels: number | undefined): void {
  if (maxRequestPixels === undefined) return;
  let total = 0;
  for (const img of images) {
    total += img.width * img.height;
    if (total > maxRequestPixels)
      throw invalidArgument(
        `${img.label} (${img.width}x${img.height}) takes the request's images to ${mp(total)} megapixels, more than the limit of ${mp(maxRequestPixels)} megapixels per request. Send fewer or smaller images, or split the request.`,
        img.label,
      );
  }
}

const mp = (pixels: number): string => String(Math.round(pixels / 1e5) / 10);

/** Header facts of every image part, for token counting: no pixels are decoded. */
export async function inspectImageParts(contents: WireContent[], ctx: ResolveContext, pathPrefix = 'contents'): Promise<ImagePartInfo[]> {
  checkImageCount(contents, ctx.maxImages);
  // Every part is checked before any file is opened: a bad part further on throws here,
  // and must not leave the opens already started with rejections nobody awaits.
  const refs: Array<{ ref: ImageRef; part: WirePart }> = [];
  contents.forEach((content, i) =>
    content.parts.forEach((part, j) => {
      const ref = imageRefOf(part, `${pathPrefix}[${i}]`, j, ctx);
      if (ref) refs.push({ ref, part });
    }),
  );
  return Promise.all(
    refs.map(async ({ ref, part }) => {
      const { read, hash } = await ref.open();
      const cached = hash ? ctx.images.cached(hash) : undefined;
      const info = cached ?? (await ctx.images.info(await read(), decodeOptions(ref, ctx, hash)));
      return { label: ref.label, info, ...(part.mediaResolution?.level ? { mediaResolution: part.mediaResolution.level } : {}) };
    }),
  );
}

async function locatePart(part: WirePart, contentPath: string, j: number, ctx: ResolveContext): Promise<LocatedPart> {
  if (part.text !== undefined) return { kind: 'text', part: { kind: 'text', text: part.text } };
  const ref = imageRefOf(part, contentPath, j, ctx);
  if (!ref) throw invalidArgument(`${contentPath}.parts[${j}]: this kind of part is not supported in a request to Ocellus.`);
  const { read, hash, fileName } = await ref.open();
  const level = part.mediaResolution?.level;
  const asPart = (image: DecodedImage): InputPart => ({
    kind: 'image',
    label: ref.label,
    image,
    ...(fileName ? { fileName } : {}),
    ...(level ? { mediaResolution: level } : {}),
  });
  // What follows a decode (token counts, the plan, copies for the workers) takes a loop turn
  // of its own: decodes of many requests finish together (src/loop-turns.ts).
  const cached = hash ? ctx.images.cached(hash) : undefined;
  if (cached) return { kind: 'image', label: ref.label, width: cached.width, height: cached.height, decode: async () => (await nextTurn(), asPart(cached)) };
  const bytes = await read();
  // The header read checks format, MIME type and the per-image limit, and hashes the bytes once for the decode.
  const info = await ctx.images.info(bytes, decodeOptions(ref, ctx, hash));
  return {
    kind: 'image',
    label: ref.label,
    width: info.width,
    height: info.height,
    decode: async () => {
      const image = await ctx.images.decode(bytes, decodeOptions(ref, ctx, info.hash));
      await nextTurn();
      return asPart(image);
    },
  };
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
