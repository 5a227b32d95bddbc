/**
 * Gemini's resumable upload, client side: `start` (metadata, declared size and type) →
 * the `X-Goog-Upload-URL` it answers → one `upload, finalize` request with every byte,
 * streamed from disk → `X-Goog-Upload-Status: final` and `{file: File}`. A file the upstream
 * still processes is polled until ACTIVE, so the request that names it does not fail.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredImageFile } from '../../seam/files.js';
import { providerFetch, type ProviderResponse } from '../provider-fetch.js';
import { providerFailed, providerTimedOut } from '../provider-errors.js';
import { geminiError, parseErrorBody } from './errors.js';
import type { UpstreamFile } from './file-mirror.js';
import { upstreamUrl } from './request.js';

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

/** Throws the mapped provider error unless the answer is 2xx. */
export async function checkOk(res: ProviderResponse, provider: string): Promise<void> {
  if (res.status >= 200 && res.status < 300) return;
  const text = await res.text().catch(() => '');
  throw geminiError(provider, res.status, parseErrorBody(text), res.headers.get('retry-after'));
}

const opts = (t: UpstreamTarget, timeoutMs = t.timeoutMs) => ({ provider: t.provider, timeoutMs, ...(t.fetch ? { fetch: t.fetch } : {}) });

interface FileBody {
  file?: Partial<UpstreamFile> & { state?: string; error?: { message?: string } };
}

export async function uploadResumable(t: UpstreamTarget, file: StoredImageFile): Promise<UpstreamFile> {
  const size = (await stat(file.path)).size;
  const start = await providerFetch(
    upstreamUrl(t.baseUrl, 'upload/' + t.version, 'files'),
    {
      method: 'POST',
      headers: {
        'x-goog-api-key': t.apiKey,
        'content-type': 'application/json',
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
        'x-goog-upload-header-content-length': String(size),
        'x-goog-upload-header-content-type': file.mimeType,
      },
      body: JSON.stringify({ file: { displayName: `ocellus ${file.name}`.slice(0, 512) } }),
    },
    opts(t),
  );
  await checkOk(start, t.provider);
  const uploadUrl = start.headers.get('x-goog-upload-url');
  await start.text().catch(() => '');
  if (!uploadUrl) throw providerFailed(t.provider, 'the upload start answer has no X-Goog-Upload-URL header');

  // The deadline covers sending the bytes too (the answer comes after the last one), so it grows with the size.
  const uploadTimeout = t.timeoutMs + Math.ceil((size / MIN_UPLOAD_RATE) * 1000);
  const fin = await providerFetch(
    onUpstreamOrigin(uploadUrl, t.baseUrl, t.provider),
    {
      method: 'POST',
      headers: {
        'x-goog-api-key': t.apiKey,
        'x-goog-upload-command': 'upload, finalize',
        'x-goog-upload-offset': '0',
        'content-length': String(size),
      },
      body: Readable.toWeb(createReadStream(file.path)) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit,
    opts(t, uploadTimeout),
  );
  await checkOk(fin, t.provider);
  const status = fin.headers.get('x-goog-upload-status');
  const body = (await fin.json()) as FileBody;
  if (status !== 'final' || !body.file?.uri || !body.file.name)
    throw providerFailed(t.provider, `the upload did not finish (X-Goog-Upload-Status: ${status ?? 'missing'}, no file in the answer)`);
  return waitActive(t, body.file as UpstreamFile & { state?: string });
}

/**
 * The upload URL with the upstream's scheme, host and port (path and query kept), as the JS
 * SDK does: the operator's key then never goes to a host other than the configured one, and
 * an upstream behind a proxy that advertises its inner host name still works.
 */
export function onUpstreamOrigin(uploadUrl: string, baseUrl: string, provider: string): string {
  let u: URL;
  try {
    u = new URL(uploadUrl);
  } catch {
    throw providerFailed(provider, `the upload URL ${JSON.stringify(uploadUrl.slice(0, 200))} is not an absolute URL`);
  }
  const base = new URL(baseUrl);
  u.protocol = base.protocol;
  u.host = base.host;
  return u.href;
}

/** Images are ACTIVE at once; anything PROCESSING is polled for at most the provider's deadline. */
async function waitActive(t: UpstreamTarget, f: UpstreamFile & { state?: string; error?: { message?: string } }): Promise<UpstreamFile> {
  const until = Date.now() + t.timeoutMs;
  let file = f;
  while (file.state === 'PROCESSING') {
    if (Date.now() > until) throw providerTimedOut(t.provider, t.timeoutMs);
    await sleep(POLL_MS);
    const res = await providerFetch(upstreamUrl(t.baseUrl, t.version, file.name), { headers: { 'x-goog-api-key': t.apiKey } }, opts(t));
    await checkOk(res, t.provider);
    file = { ...file, ...((await res.json()) as typeof file) };
  }
  if (file.state === 'FAILED')
    throw providerFailed(t.provider, `the upstream could not process the uploaded file ${file.name}: ${file.error?.message ?? 'FAILED'}`);
  return { name: file.name, uri: file.uri, mimeType: file.mimeType, ...(file.expirationTime ? { expirationTime: file.expirationTime } : {}) };
}
