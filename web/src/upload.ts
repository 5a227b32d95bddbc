/**
 * Files API upload with Gemini's resumable protocol, as the SDKs do it: a `start` request
 * (metadata, size and type in X-Goog-Upload-Header-*) answers with an upload URL; the bytes
 * then go in 8 MiB chunks (`upload`), the last one with `upload, finalize`, each at its
 * X-Goog-Upload-Offset. Chunks go through XMLHttpRequest because fetch reports no upload
 * progress; the bar moves within a chunk, not only between chunks.
 */
import { ApiCallError, VERSION, errorOf, type ApiClient, type FileResource } from './api.js';

/** The chunk size the server advertises (X-Goog-Upload-Chunk-Granularity) and the SDKs use. */
export const CHUNK_BYTES = 8 * 1024 * 1024;

export interface UploadProgress {
  sent: number;
  total: number;
}

export async function uploadFile(
  api: ApiClient,
  file: File,
  onProgress: (p: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<FileResource> {
  const start = await fetch(`${api.base}/upload/${VERSION}/files`, {
    method: 'POST',
    headers: api.headers({
      'content-type': 'application/json',
      'x-goog-upload-protocol': 'resumable',
      'x-goog-upload-command': 'start',
      'x-goog-upload-header-content-length': String(file.size),
      ...(file.type ? { 'x-goog-upload-header-content-type': file.type } : {}),
    }),
    body: JSON.stringify({ file: { displayName: file.name } }),
    ...(signal ? { signal } : {}),
  });
  if (!start.ok) throw await errorOf(start);
  const url = start.headers.get('x-goog-upload-url');
  if (!url) throw new ApiCallError('The server did not answer with an upload URL (X-Goog-Upload-URL).', start.status, 'INTERNAL');

  onProgress({ sent: 0, total: file.size });
  let offset = 0;
  // An empty file still needs one finalizing request.
  do {
    const end = Math.min(file.size, offset + CHUNK_BYTES);
    const last = end === file.size;
    const { status, body } = await sendChunk(url, file.slice(offset, end), offset, last, (n) => onProgress({ sent: offset + n, total: file.size }), signal);
    if (status < 200 || status >= 300) throw errorFromText(status, body);
    offset = end;
    onProgress({ sent: offset, total: file.size });
    if (last) {
      const parsed = JSON.parse(body) as { file?: FileResource };
      if (!parsed.file) throw new ApiCallError('The server finalized the upload without a file resource.', status, 'INTERNAL');
      return parsed.file;
    }
  } while (offset < file.size);
  throw new ApiCallError('The upload ended before it was finalized.', 0, 'INTERNAL');
}

function sendChunk(
  url: string,
  chunk: Blob,
  offset: number,
  last: boolean,
  onSent: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    // The upload URL carries its own credential (upload_id); no API key is needed, as with the SDKs.
    xhr.setRequestHeader('x-goog-upload-command', last ? 'upload, finalize' : 'upload');
    xhr.setRequestHeader('x-goog-upload-offset', String(offset));
    xhr.upload.onprogress = (e) => onSent(e.loaded);
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText });
    xhr.onerror = () => reject(new ApiCallError(`The upload to ${url} failed: the connection was lost.`, 0, 'UNAVAILABLE'));
    xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(chunk);
  });
}

function errorFromText(status: number, text: string): ApiCallError {
  try {
    const env = JSON.parse(text) as { error?: { message?: string; status?: string } };
    if (env.error?.message) return new ApiCallError(env.error.message, status, env.error.status ?? '');
  } catch {
    /* fall through */
  }
  return new ApiCallError(text.trim().slice(0, 500) || `The upload failed with HTTP ${status}.`, status, '');
}
