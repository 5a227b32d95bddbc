/**
 * The CLI's Gemini client: the shared one (providers/gemini/client/) on plain fetch, with
 * failures as `GeminiApiError`, which carries the envelope's code and status so `ocellus
 * ask` can print the server's own message. It talks to any Gemini-compatible base URL (a
 * running Ocellus, the in-process one `ocellus ask` starts, or Google's); the SDKs are
 * dev-only here.
 */
import { createGeminiClient as createClient, type ClientErrors, type GeminiClient } from '../providers/gemini/client/client.js';
import { STATUS_OF_HTTP, type GeminiErrorBody } from '../providers/gemini/client/envelope.js';
import { fetchTransport } from '../providers/gemini/client/fetch-transport.js';

export type { GeminiClient } from '../providers/gemini/client/client.js';
export type { ByteSource, UploadOptions } from '../providers/gemini/client/resumable-upload.js';
export { UPLOAD_CHUNK_BYTES } from '../providers/gemini/client/resumable-upload.js';
export type { FileResource, GenerateContentResponse } from '../providers/gemini/client/types.js';
export { sseEvents } from '../providers/gemini/client/sse.js';

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

export interface GeminiClientOptions {
  baseUrl: string;
  apiKey?: string;
  /** v1beta by default, like @google/genai 2.x. */
  apiVersion?: string;
  fetch?: typeof fetch;
  /** Delay between polls of a file still PROCESSING after finalize. */
  pollMs?: number;
}

const fromEnvelope = (code: number, e: GeminiErrorBody): GeminiApiError =>
  new GeminiApiError(code, e.status ?? STATUS_OF_HTTP[code] ?? 'UNKNOWN', e.message ?? 'The server returned an error without a message.');

function cliErrors(base: string): ClientErrors {
  return {
    answer(status, error, { text, answer }) {
      if (error) return fromEnvelope(error.code ?? status, error);
      const statusText = answer?.statusText ? ` ${answer.statusText}` : '';
      return new GeminiApiError(status, STATUS_OF_HTTP[status] ?? 'UNKNOWN', `HTTP ${status}${statusText}${text.trim() ? `: ${text.trim().slice(0, 300)}` : ''}`);
    },
    protocol: (message) => new GeminiApiError(500, 'INTERNAL', `${base}: ${message}`),
    fileFailed: (file) =>
      new GeminiApiError(400, 'FAILED_PRECONDITION', `the server could not use the uploaded file ${file.name}: ${file.error?.message ?? 'processing failed'}`),
    processingTimedOut: (file, ms) => new GeminiApiError(504, 'DEADLINE_EXCEEDED', `the uploaded file ${file.name} was still PROCESSING after ${Math.round(ms / 1000)} s`),
  };
}

export function createGeminiClient(opts: GeminiClientOptions): GeminiClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  return createClient({
    baseUrl: base,
    ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
    ...(opts.apiVersion ? { apiVersion: opts.apiVersion } : {}),
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    transport: fetchTransport({
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      unreachable: (why) => new GeminiApiError(503, 'UNAVAILABLE', `cannot reach ${base}: ${why}`),
    }),
    errors: cliErrors(base),
  });
}
