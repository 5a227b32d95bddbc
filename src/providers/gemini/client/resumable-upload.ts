/**
 * Gemini's resumable upload, client side: `start` (metadata, declared size and type in
 * X-Goog-Upload-Header-*) answers with X-Goog-Upload-URL; the bytes then go in chunks at
 * their X-Goog-Upload-Offset (`upload`), the last one `upload, finalize`, whose answer is
 * `{file: File}`. A file the server still processes is polled until ACTIVE, so a request
 * that names it at once does not fail.
 */
import type { ClientErrors, ClientContext } from './context.js';
import type { FileResource } from './types.js';
import type { UploadBody } from './transport.js';
import { apiUrl } from './urls.js';

/** Random-access bytes, so a large file is sent chunk by chunk without being read whole. */
export interface ByteSource {
  size: number;
  /** `length` bytes from `offset`: in memory, or a stream that yields exactly that many. */
  read(offset: number, length: number): Promise<UploadBody>;
}

export interface UploadOptions {
  /** The file's type; empty when unknown. */
  mimeType: string;
  displayName?: string;
  /** Called after each chunk the server acknowledged, with bytes sent so far. */
  onProgress?: (sent: number, total: number) => void;
  /**
   * Defaults to 8 MiB, the granularity the SDKs use (chunks must be multiples of it but the
   * last). `Infinity` sends every byte in one `upload, finalize` request.
   */
  chunkBytes?: number;
  signal?: AbortSignal;
}

export const UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024;

export async function uploadResumable(c: ClientContext, source: ByteSource, opts: UploadOptions): Promise<FileResource> {
  const chunkBytes = opts.chunkBytes ?? UPLOAD_CHUNK_BYTES;
  const signal = opts.signal ? { signal: opts.signal } : {};
  const start = await c.send({
    method: 'POST',
    url: apiUrl(c.baseUrl, `upload/${c.version}`, 'files'),
    headers: {
      'content-type': 'application/json',
      'x-goog-upload-protocol': 'resumable',
      'x-goog-upload-command': 'start',
      'x-goog-upload-header-content-length': String(source.size),
      // No type (a browser File of an unknown kind) lets the server tell the format from the bytes.
      ...(opts.mimeType ? { 'x-goog-upload-header-content-type': opts.mimeType } : {}),
      ...c.auth,
    },
    body: JSON.stringify({ file: { ...(opts.mimeType ? { mimeType: opts.mimeType } : {}), ...(opts.displayName ? { displayName: opts.displayName } : {}) } }),
    ...signal,
  });
  const named = start.headers.get('x-goog-upload-url');
  await start.text().catch(() => '');
  if (!named) throw c.errors.protocol('the upload start answer has no X-Goog-Upload-URL header');
  const uploadUrl = c.uploadUrl(named);

  let offset = 0;
  // One pass even for an empty file: the last request must carry "finalize".
  do {
    const length = Math.min(chunkBytes, source.size - offset);
    const last = offset + length >= source.size;
    const res = await c.send({
      method: 'POST',
      url: uploadUrl,
      headers: {
        'x-goog-upload-command': last ? 'upload, finalize' : 'upload',
        'x-goog-upload-offset': String(offset),
        'content-length': String(length),
        ...c.auth,
      },
      body: await source.read(offset, length),
      uploadBytes: length,
      ...signal,
    });
    offset += length;
    if (!last) {
      await res.text().catch(() => '');
      opts.onProgress?.(offset, source.size);
      continue;
    }
    const status = res.headers.get('x-goog-upload-status');
    const body = parseJson(await res.text()) as { file?: FileResource } | undefined;
    opts.onProgress?.(offset, source.size);
    // Gemini answers `final`; a server that names no status is judged by the file in its answer.
    if ((status !== null && status !== 'final') || !body?.file?.uri || !body.file.name)
      throw c.errors.protocol(`the upload did not finish (X-Goog-Upload-Status: ${status ?? 'missing'}${body?.file?.uri ? '' : ', no file in the answer'})`);
    return waitActive(c, body.file, opts.signal);
  } while (offset < source.size);
  throw c.errors.protocol('the upload ended before its last chunk');
}

/** Images are ACTIVE at once on Gemini and Ocellus; a file still PROCESSING is polled for at most `maxProcessingMs`. */
export async function waitActive(c: ClientContext, file: FileResource, signal?: AbortSignal): Promise<FileResource> {
  const until = Date.now() + c.maxProcessingMs;
  let current = file;
  while (current.state === 'PROCESSING') {
    if (Date.now() > until) throw c.errors.processingTimedOut(current, c.maxProcessingMs);
    await new Promise((r) => setTimeout(r, c.pollMs));
    const res = await c.send({ method: 'GET', url: apiUrl(c.baseUrl, c.version, current.name), headers: { ...c.auth }, ...(signal ? { signal } : {}) });
    const polled = parseJson(await res.text()) as FileResource | undefined;
    if (!polled) throw c.errors.protocol(`the file ${current.name} was answered with a body that is not JSON`);
    current = { ...current, ...polled };
  }
  if (current.state === 'FAILED') throw c.errors.fileFailed(current);
  return current;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
