/**
 * The shared Gemini client (client/) pointed at the upstream with the operator's key: its
 * requests go through providerFetch (a deadline for the headers and each body gap, the
 * caller's abort, network failures as provider errors), and every failure becomes the
 * provider error the router understands (errors.ts).
 */
import { providerFetch } from '../provider-fetch.js';
import { providerFailed, providerTimedOut } from '../provider-errors.js';
import { createGeminiClient, type ClientErrors, type GeminiClient } from './client/client.js';
import type { Transport } from './client/transport.js';
import { onApiOrigin } from './client/urls.js';
import { geminiError, parseErrorBody } from './errors.js';

export interface UpstreamTarget {
  provider: string;
  baseUrl: string;
  version: string;
  apiKey: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** Slowest upload rate we wait for (bytes per second) before calling the upload stalled. */
const MIN_UPLOAD_RATE = 1_000_000;
const POLL_MS = 250;

/** providerFetch as the client's transport; an upload's deadline grows with its size (the answer comes after the last byte). */
export function providerTransport(t: UpstreamTarget): Transport {
  return (req) => {
    const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers: req.headers };
    if (req.body !== undefined) {
      init.body = req.body as BodyInit;
      if (req.body instanceof ReadableStream) init.duplex = 'half';
    }
    const timeoutMs = t.timeoutMs + (req.uploadBytes ? Math.ceil((req.uploadBytes / MIN_UPLOAD_RATE) * 1000) : 0);
    return providerFetch(req.url, init, { provider: t.provider, timeoutMs, ...(req.signal ? { signal: req.signal } : {}), ...(t.fetch ? { fetch: t.fetch } : {}) });
  };
}

export function providerErrors(t: UpstreamTarget): ClientErrors {
  return {
    answer: (status, error, { text, answer }) => geminiError(t.provider, status, error ?? parseErrorBody(text), answer?.headers.get('retry-after')),
    protocol: (message) => providerFailed(t.provider, message),
    fileFailed: (file) => providerFailed(t.provider, `the upstream could not process the uploaded file ${file.name}: ${file.error?.message ?? 'FAILED'}`),
    processingTimedOut: () => providerTimedOut(t.provider, t.timeoutMs),
  };
}

/**
 * The upload URL on the upstream's origin (see onApiOrigin): the operator's key never goes
 * to a host other than the configured one.
 */
export function onUpstreamOrigin(uploadUrl: string, baseUrl: string, provider: string): string {
  const url = onApiOrigin(uploadUrl, baseUrl);
  if (url === undefined) throw providerFailed(provider, `the upload URL ${JSON.stringify(uploadUrl.slice(0, 200))} is not an absolute URL`);
  return url;
}

export function createUpstreamClient(t: UpstreamTarget): GeminiClient {
  return createGeminiClient({
    baseUrl: t.baseUrl,
    apiKey: t.apiKey,
    apiVersion: t.version,
    transport: providerTransport(t),
    errors: providerErrors(t),
    pollMs: POLL_MS,
    // A file still PROCESSING is waited for as long as any other upstream answer.
    maxProcessingMs: t.timeoutMs,
    uploadUrl: (named) => onUpstreamOrigin(named, t.baseUrl, t.provider),
  });
}
