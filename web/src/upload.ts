/**
 * Files API upload with Gemini's resumable protocol, through the server's own Gemini
 * client (src/providers/gemini/client/, no Node imports): a `start` request answers with
 * an upload URL; the bytes then go in 8 MiB chunks, the last one `upload, finalize`, each
 * at its X-Goog-Upload-Offset. Here the client's transport sends chunks with
 * XMLHttpRequest, because fetch reports no upload progress: the bar moves within a chunk,
 * not only between chunks.
 */
import { createGeminiClient, type ClientErrors } from '../../src/providers/gemini/client/client.js';
import { UPLOAD_CHUNK_BYTES } from '../../src/providers/gemini/client/resumable-upload.js';
import type { HttpAnswer, HttpRequest, Transport } from '../../src/providers/gemini/client/transport.js';
import { ApiCallError, VERSION, type ApiClient, type FileResource } from './api.js';

/** The chunk size the server advertises (X-Goog-Upload-Chunk-Granularity) and the SDKs use. */
export const CHUNK_BYTES = UPLOAD_CHUNK_BYTES;

export interface UploadProgress {
  sent: number;
  total: number;
}

const errors: ClientErrors = {
  answer: (status, error, { text }) =>
    new ApiCallError(error?.message || text.trim().slice(0, 500) || `The upload failed with HTTP ${status}.`, status, error?.status ?? ''),
  protocol: (message) => new ApiCallError(`The upload failed: ${message}.`, 0, 'INTERNAL'),
  fileFailed: (file) => new ApiCallError(`The server could not use ${file.name}: ${file.error?.message ?? 'processing failed'}.`, 400, 'FAILED_PRECONDITION'),
  processingTimedOut: (file) => new ApiCallError(`${file.name} is still being processed.`, 504, 'DEADLINE_EXCEEDED'),
};

export async function uploadFile(
  api: ApiClient,
  file: File,
  onProgress: (p: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<FileResource> {
  const total = file.size;
  const key = api.headers()['x-goog-api-key'];
  const client = createGeminiClient({
    baseUrl: api.base,
    apiVersion: VERSION,
    ...(key ? { apiKey: key } : {}),
    transport: browserTransport((sent) => onProgress({ sent, total })),
    errors,
  });
  onProgress({ sent: 0, total });
  const done = await client.uploadFile(
    // A Blob slice read into memory: one chunk at a time, never the whole file.
    { size: total, read: async (offset, length) => new Uint8Array(await file.slice(offset, offset + length).arrayBuffer()) },
    // An empty type lets the server tell the format from the bytes.
    { mimeType: file.type, displayName: file.name, onProgress: (sent) => onProgress({ sent, total }), ...(signal ? { signal } : {}) },
  );
  return done as unknown as FileResource;
}

/** fetch for the API calls; XMLHttpRequest for upload chunks, reporting bytes sent so far (chunk offset + progress within it). */
function browserTransport(onSent: (sent: number) => void): Transport {
  return async (req) => {
    if (req.uploadBytes !== undefined) return sendChunk(req, Number(req.headers['x-goog-upload-offset'] ?? 0), onSent);
    let res: Response;
    try {
      res = await fetch(req.url, { method: req.method, headers: req.headers, ...(req.body !== undefined ? { body: req.body as BodyInit } : {}), ...(req.signal ? { signal: req.signal } : {}) });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiCallError(`Cannot reach the server at ${req.url}: ${(err as Error).message}`, 0, 'UNAVAILABLE');
    }
    const text = await res.text();
    return answerOf(res.status, text, (name) => res.headers.get(name));
  };
}

function sendChunk(req: HttpRequest, offset: number, onSent: (sent: number) => void): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(req.method, req.url);
    // content-length is the browser's to set; the upload URL carries its own credential (upload_id).
    for (const [name, value] of Object.entries(req.headers)) if (name !== 'content-length') xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => onSent(offset + e.loaded);
    xhr.onload = () => resolve(answerOf(xhr.status, xhr.responseText, (name) => xhr.getResponseHeader(name)));
    xhr.onerror = () => reject(new ApiCallError(`The upload to ${req.url} failed: the connection was lost.`, 0, 'UNAVAILABLE'));
    xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
    req.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(req.body as XMLHttpRequestBodyInit);
  });
}

function answerOf(status: number, text: string, header: (name: string) => string | null): HttpAnswer {
  return {
    status,
    headers: { get: header },
    async *body() {
      yield new TextEncoder().encode(text);
    },
    text: async () => text,
  };
}
