/**
 * One Gemini REST client for everything in Ocellus that calls a Gemini API: the CLI
 * (`ocellus ask`, against a running Ocellus, the in-process one, or Google's), the upstream
 * Gemini provider, and, for its SSE parser, the playground. generateContent,
 * streamGenerateContent (SSE), the Files API's resumable upload, files.get, models.list.
 * It depends on nothing but the wire format: how bytes move (deadlines, abort) is the
 * transport's job, and which errors a failure becomes is the caller's (`errors`), so each
 * user keeps its own error model. No Node imports, so a browser build can use it too.
 */
import { errorBodyOf, parseErrorText, type GeminiErrorBody } from './envelope.js';
import { uploadResumable, type ByteSource, type UploadOptions } from './resumable-upload.js';
import { sseEvents } from './sse.js';
import type { HttpAnswer, HttpRequest, Transport } from './transport.js';
import type { FileResource, GenerateContentResponse } from './types.js';
import { apiUrl, modelPath } from './urls.js';
import type { ClientContext, ClientErrors } from './context.js';

export type { ClientContext, ClientErrors } from './context.js';

export interface GeminiClientOptions {
  baseUrl: string;
  apiKey?: string;
  /** v1beta by default, like @google/genai 2.x. */
  apiVersion?: string;
  transport: Transport;
  errors: ClientErrors;
  /** Delay between polls of a file still PROCESSING after finalize (500 ms). */
  pollMs?: number;
  /** Most time to wait for a PROCESSING file (60 s). */
  maxProcessingMs?: number;
  /** Where the chunks go, given the URL the start answer named (default: there). */
  uploadUrl?: (named: string) => string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface GeminiClient {
  readonly baseUrl: string;
  readonly version: string;
  generateContent(model: string, request: unknown, opts?: CallOptions): Promise<GenerateContentResponse>;
  streamGenerateContent(model: string, request: unknown, opts?: CallOptions): AsyncGenerator<GenerateContentResponse>;
  uploadFile(source: ByteSource, opts: UploadOptions): Promise<FileResource>;
  getFile(name: string, opts?: CallOptions): Promise<FileResource>;
  listModels(opts?: CallOptions & { pageSize?: number; pageToken?: string }): Promise<{ models?: unknown[]; nextPageToken?: string }>;
}

/** What the protocol modules share: the resolved options and a send that throws for non-2xx answers. */

export function createGeminiClient(opts: GeminiClientOptions): GeminiClient {
  const c: ClientContext = {
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    version: opts.apiVersion ?? 'v1beta',
    auth: opts.apiKey ? { 'x-goog-api-key': opts.apiKey } : {},
    errors: opts.errors,
    pollMs: opts.pollMs ?? 500,
    maxProcessingMs: opts.maxProcessingMs ?? 60_000,
    uploadUrl: opts.uploadUrl ?? ((u) => u),
    async send(request) {
      const answer = await opts.transport(request);
      if (answer.status >= 200 && answer.status < 300) return answer;
      const text = await answer.text().catch(() => '');
      throw opts.errors.answer(answer.status, parseErrorText(text), { text, answer });
    },
  };
  const signalOf = (o?: CallOptions) => (o?.signal ? { signal: o.signal } : {});
  const postJson = (path: string, body: unknown, o?: CallOptions) =>
    c.send({
      method: 'POST',
      url: apiUrl(c.baseUrl, c.version, path),
      headers: { 'content-type': 'application/json', ...c.auth },
      body: JSON.stringify(body),
      ...signalOf(o),
    });
  const json = async <T>(answer: HttpAnswer, what: string): Promise<T> => {
    const text = await answer.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw c.errors.protocol(`${what} was answered with a body that is not JSON: ${text.slice(0, 200)}`);
    }
  };

  return {
    baseUrl: c.baseUrl,
    version: c.version,

    async generateContent(model, request, o) {
      return json<GenerateContentResponse>(await postJson(`${modelPath(model)}:generateContent`, request, o), 'generateContent');
    },

    async *streamGenerateContent(model, request, o) {
      const answer = await postJson(`${modelPath(model)}:streamGenerateContent?alt=sse`, request, o);
      for await (const data of sseEvents(answer.body())) {
        let chunk: unknown;
        try {
          chunk = JSON.parse(data);
        } catch {
          throw c.errors.protocol(`a stream event is not JSON: ${data.slice(0, 200)}`);
        }
        // A failure after the stream started arrives as an event carrying the error envelope.
        const error = errorBodyOf(chunk);
        if (error) throw c.errors.answer(error.code ?? 500, error, { text: data });
        yield chunk as GenerateContentResponse;
      }
    },

    uploadFile: (source, upload) => uploadResumable(c, source, upload),

    async getFile(name, o) {
      return json<FileResource>(await c.send({ method: 'GET', url: apiUrl(c.baseUrl, c.version, name), headers: { ...c.auth }, ...signalOf(o) }), name);
    },

    async listModels(o = {}) {
      const query = new URLSearchParams();
      if (o.pageSize !== undefined) query.set('pageSize', String(o.pageSize));
      if (o.pageToken) query.set('pageToken', o.pageToken);
      const path = `models${query.size ? `?${query.toString()}` : ''}`;
      return json(await c.send({ method: 'GET', url: apiUrl(c.baseUrl, c.version, path), headers: { ...c.auth }, ...signalOf(o) }), 'models.list');
    },
  };
}
