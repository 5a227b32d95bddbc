/**
 * A small Gemini REST client on fetch, for the CLI: generateContent, streamGenerateContent
 * (SSE), and the Files API's resumable upload. It talks to any Gemini-compatible base URL
 * (a running Ocellus, the in-process one `ocellus ask` starts, or Google's), so it depends
 * on nothing but the wire format; the SDKs are dev-only here.
 */

/** The parts of a GenerateContentResponse the CLI reads; the rest is passed through untouched. */
export interface GenerateContentResponse {
  candidates?: Array<{
    content?: { role?: string; parts?: Array<{ text?: string; [k: string]: unknown }> };
    finishReason?: string;
    [k: string]: unknown;
  }>;
  promptFeedback?: { blockReason?: string; [k: string]: unknown };
  usageMetadata?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface FileResource {
  name: string;
  uri: string;
  mimeType: string;
  state?: string;
  sizeBytes?: string;
  error?: { code?: number; message?: string };
  [k: string]: unknown;
}

/** A Gemini error envelope `{error:{code,message,status}}`, or a non-Gemini failure described the same way. */
export class GeminiApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
    this.name = 'GeminiApiError';
  }
}

/** Random-access bytes, so a large file is uploaded chunk by chunk without being read whole. */
export interface ByteSource {
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

export interface UploadOptions {
  mimeType: string;
  displayName?: string;
  /** Called after each chunk the server acknowledged, with bytes sent so far. */
  onProgress?: (sent: number, total: number) => void;
  /** Defaults to 8 MiB, the granularity the SDKs use (uploads must be in multiples of it but the last). */
  chunkBytes?: number;
}

export interface GeminiClient {
  generateContent(model: string, request: unknown): Promise<GenerateContentResponse>;
  streamGenerateContent(model: string, request: unknown): AsyncGenerator<GenerateContentResponse>;
  uploadFile(source: ByteSource, opts: UploadOptions): Promise<FileResource>;
}

export interface GeminiClientOptions {
  baseUrl: string;
  apiKey?: string;
  /** v1beta by default, like @google/genai 2.x. */
  apiVersion?: string;
  fetch?: typeof fetch;
  /** Delay between polls of a file still PROCESSING after finalize. */
  pollMs?: number;
}

export const UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024;

const STATUS_OF_HTTP: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The envelope's fields when `value` is one, else undefined. */
export function errorOfEnvelope(value: unknown): GeminiApiError | undefined {
  if (!value || typeof value !== 'object' || !('error' in value)) return undefined;
  const e = (value as { error: unknown }).error;
  if (!e || typeof e !== 'object') return undefined;
  const { code, message, status } = e as { code?: unknown; message?: unknown; status?: unknown };
  return new GeminiApiError(
    typeof code === 'number' ? code : 500,
    typeof status === 'string' ? status : (STATUS_OF_HTTP[typeof code === 'number' ? code : 500] ?? 'UNKNOWN'),
    typeof message === 'string' ? message : 'The server returned an error without a message.',
  );
}

async function errorOfResponse(res: Response): Promise<GeminiApiError> {
  const text = await res.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: described below */
  }
  return (
    errorOfEnvelope(parsed) ??
    new GeminiApiError(
      res.status,
      STATUS_OF_HTTP[res.status] ?? 'UNKNOWN',
      `HTTP ${res.status} ${res.statusText}${text.trim() ? `: ${text.trim().slice(0, 300)}` : ''}`,
    )
  );
}

/**
 * Splits an SSE body into its `data:` payloads. Events end at a blank line (`\r\n\r\n` or
 * `\n\n`); a data field may span several `data:` lines, joined with newlines per the spec.
 */
export async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  const takeEvent = (raw: string): string | undefined => {
    const data = raw
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''));
    return data.length > 0 ? data.join('\n') : undefined;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let m = /\r?\n\r?\n/.exec(buffer); m; m = /\r?\n\r?\n/.exec(buffer)) {
      const event = takeEvent(buffer.slice(0, m.index));
      buffer = buffer.slice(m.index + m[0].length);
      if (event !== undefined) yield event;
    }
  }
  buffer += decoder.decode();
  const last = takeEvent(buffer);
  if (last !== undefined) yield last;
}

export function createGeminiClient(opts: GeminiClientOptions): GeminiClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const version = opts.apiVersion ?? 'v1beta';
  const doFetch = opts.fetch ?? fetch;
  const pollMs = opts.pollMs ?? 500;
  const auth: Record<string, string> = opts.apiKey ? { 'x-goog-api-key': opts.apiKey } : {};
  const modelPath = (model: string) => `${base}/${version}/models/${encodeURIComponent(model.replace(/^models\//, ''))}`;

  /** fetch, with "cannot connect" said in words instead of undici's bare `fetch failed`. */
  const call = async (url: string, init: RequestInit): Promise<Response> => {
    try {
      return await doFetch(url, init);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new GeminiApiError(503, 'UNAVAILABLE', `cannot reach ${base}: ${why}`);
    }
  };
  const postJson = async (url: string, body: unknown): Promise<Response> => {
    const res = await call(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw await errorOfResponse(res);
    return res;
  };

  async function waitForActive(file: FileResource): Promise<FileResource> {
    let current = file;
    // Ocellus answers finalize after processing; other servers may still be processing.
    for (let i = 0; current.state === 'PROCESSING' && i < 120; i++) {
      await new Promise((r) => setTimeout(r, pollMs));
      const res = await call(`${base}/${version}/${current.name}`, { headers: auth });
      if (!res.ok) throw await errorOfResponse(res);
      current = (await res.json()) as FileResource;
    }
    if (current.state === 'FAILED')
      throw new GeminiApiError(400, 'FAILED_PRECONDITION', `the server could not use the uploaded file: ${current.error?.message ?? 'processing failed'}`);
    return current;
  }

  return {
    async generateContent(model, request) {
      const res = await postJson(`${modelPath(model)}:generateContent`, request);
      return (await res.json()) as GenerateContentResponse;
    },

    async *streamGenerateContent(model, request) {
      const res = await postJson(`${modelPath(model)}:streamGenerateContent?alt=sse`, request);
      if (!res.body) return;
      for await (const data of sseEvents(res.body as unknown as AsyncIterable<Uint8Array>)) {
        let chunk: unknown;
        try {
          chunk = JSON.parse(data);
        } catch {
          throw new GeminiApiError(500, 'INTERNAL', `the server sent an event that is not JSON: ${data.slice(0, 200)}`);
        }
        // A failure after the stream started arrives as an event carrying the error envelope.
        const error = errorOfEnvelope(chunk);
        if (error) throw error;
        yield chunk as GenerateContentResponse;
      }
    },

    async uploadFile(source, upload) {
      const chunkBytes = upload.chunkBytes ?? UPLOAD_CHUNK_BYTES;
      const start = await call(`${base}/upload/${version}/files`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-goog-upload-protocol': 'resumable',
          'x-goog-upload-command': 'start',
          'x-goog-upload-header-content-length': String(source.size),
          'x-goog-upload-header-content-type': upload.mimeType,
          ...auth,
        },
        body: JSON.stringify({ file: { mimeType: upload.mimeType, ...(upload.displayName ? { displayName: upload.displayName } : {}) } }),
      });
      if (!start.ok) throw await errorOfResponse(start);
      const uploadUrl = start.headers.get('x-goog-upload-url');
      if (!uploadUrl) throw new GeminiApiError(500, 'INTERNAL', 'the server started an upload but sent no X-Goog-Upload-URL');

      let offset = 0;
      // One pass even for an empty file: the last request must carry "finalize".
      do {
        const length = Math.min(chunkBytes, source.size - offset);
        const last = offset + length >= source.size;
        const bytes = await source.read(offset, length);
        const res = await call(uploadUrl, {
          method: 'POST',
          headers: {
            'x-goog-upload-command': last ? 'upload, finalize' : 'upload',
            'x-goog-upload-offset': String(offset),
            'content-length': String(bytes.length),
            ...auth,
          },
          // A Buffer is a valid fetch body; the DOM typings only refuse it because its memory could be shared.
          body: bytes as unknown as BodyInit,
        });
        if (!res.ok) throw await errorOfResponse(res);
        offset += bytes.length;
        upload.onProgress?.(offset, source.size);
        if (last) {
          const body = (await res.json()) as { file?: FileResource };
          if (!body.file?.uri) throw new GeminiApiError(500, 'INTERNAL', 'the upload finished without a file in the answer');
          return waitForActive(body.file);
        }
      } while (offset < source.size);
      throw new GeminiApiError(500, 'INTERNAL', 'the upload ended before its last chunk');
    },
  };
}
