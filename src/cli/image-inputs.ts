/**
 * The images named on the `ocellus ask` command line: local paths or http(s) URLs, read as
 * random-access sources (a big file is uploaded chunk by chunk, never read whole), with the
 * MIME type sniffed from the first bytes. Which go inline and which through the Files API
 * is decided by `planParts`, from sizes alone.
 */
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ByteSource } from './gemini-client.js';
import { mimeTypeOf, sniffImageFormat } from '../media/sniff.js';

export interface ImageInput extends ByteSource {
  /** As typed: the path or URL, for messages. */
  name: string;
  /** Sniffed; application/octet-stream when the bytes are no known format (the server then says why). */
  mimeType: string;
  /** Every byte (for inline parts and drawing). */
  bytes(): Promise<Buffer>;
  close(): Promise<void>;
}

/** A path or URL that could not be read, named in the message. */
export class InputError extends Error {}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

const sniffMime = (head: Uint8Array): string => {
  const format = sniffImageFormat(head);
  return format ? mimeTypeOf(format) : 'application/octet-stream';
};

function bufferInput(name: string, data: Buffer): ImageInput {
  return {
    name,
    size: data.length,
    mimeType: sniffMime(data.subarray(0, 64 * 1024)),
    read: async (offset, length) => data.subarray(offset, offset + length),
    bytes: async () => data,
    close: async () => undefined,
  };
}

async function fileInput(name: string): Promise<ImageInput> {
  const full = path.resolve(name);
  let size: number;
  try {
    const s = await stat(full);
    if (!s.isFile()) throw new InputError(`${name} is not a file`);
    size = s.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `image not found: ${name}` : `cannot read image ${name}: ${(err as Error).message}`);
  }
  const handle = await open(full, 'r').catch((err: Error) => {
    throw new InputError(`cannot read image ${name}: ${err.message}`);
  });
  const read = async (offset: number, length: number) => {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  };
  const head = await read(0, Math.min(size, 64 * 1024));
  return {
    name,
    size,
    mimeType: sniffMime(head),
    read,
    bytes: async () => read(0, size),
    close: () => handle.close(),
  };
}

/** Fetches a URL whole: remote images are small enough, and there is no random access over HTTP here. */
async function urlInput(name: string, doFetch: typeof fetch): Promise<ImageInput> {
  let res: Response;
  try {
    res = await doFetch(name);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new InputError(`cannot fetch image ${name}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  if (!res.ok) throw new InputError(`cannot fetch image ${name}: HTTP ${res.status} ${res.statusText}`);
  return bufferInput(name, Buffer.from(await res.arrayBuffer()));
}

export async function openImageInput(name: string, doFetch: typeof fetch = fetch): Promise<ImageInput> {
  return isUrl(name) ? urlInput(name, doFetch) : fileInput(name);
}

/** Opens every input, closing the ones already open when one fails. */
export async function openImageInputs(names: readonly string[], doFetch: typeof fetch = fetch): Promise<ImageInput[]> {
  const opened: ImageInput[] = [];
  try {
    for (const n of names) opened.push(await openImageInput(n, doFetch));
    return opened;
  } catch (err) {
    await Promise.all(opened.map((i) => i.close()));
    throw err;
  }
}

/**
 * Which images go inline and which are uploaded. Gemini's request limit is 20 MB and
 * base64 grows bytes by 4/3, so inline images share a raw budget of 14 MiB (≈18.7 MiB
 * encoded, leaving room for the prompt); any image over `uploadAbove` by itself, or that
 * would overflow the budget, is uploaded. `forceUpload` uploads all.
 */
export function planParts(
  sizes: readonly number[],
  opts: { forceUpload?: boolean; uploadAbove?: number; inlineBudget?: number } = {},
): Array<'inline' | 'upload'> {
  const uploadAbove = opts.uploadAbove ?? 15_000_000;
  let budget = opts.inlineBudget ?? 14 * 1024 * 1024;
  return sizes.map((size) => {
    if (opts.forceUpload || size > uploadAbove || size > budget) return 'upload';
    budget -= size;
    return 'inline';
  });
}
