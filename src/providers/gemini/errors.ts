/**
 * Upstream Gemini's error envelopes as provider errors. The general HTTP mapping lives in
 * provider-errors.ts; what is Gemini's own is read here: the retry delay in a RetryInfo
 * detail, a refused operator key (which Gemini answers with 400 API_KEY_INVALID as often as
 * with 401/403), and a 403 about a File, which means our upstream copy is gone.
 */
import {
  ProviderError,
  providerHttpError,
  providerKeyRefused,
  retryAfterSeconds,
} from '../provider-errors.js';
import { parseErrorText, type GeminiErrorBody } from './client/envelope.js';

export type { GeminiErrorBody } from './client/envelope.js';

/** A 403 about a file: the upstream does not know (any more) a file the request named. */
export class UpstreamFileError extends ProviderError {
  constructor(provider: string, message: string) {
    super('OCL_ERR_PROVIDER_FILE_GONE', `The model provider "${provider}" cannot access a file of the request: ${message}`, provider, false);
    this.name = 'UpstreamFileError';
  }
}

const KEY_REASONS = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED', 'API_KEY_SERVICE_BLOCKED', 'API_KEY_HTTP_REFERRER_BLOCKED', 'API_KEY_IP_ADDRESS_BLOCKED', 'SERVICE_DISABLED', 'CONSUMER_SUSPENDED']);

const detailsOf = (e: GeminiErrorBody): Array<Record<string, unknown>> =>
  (Array.isArray(e.details) ? e.details : []).filter((d): d is Record<string, unknown> => !!d && typeof d === 'object');

/** Seconds of a RetryInfo detail's `retryDelay` ("13s", "1.5s"), rounded up. */
export function retryDelayOf(e: GeminiErrorBody): number | undefined {
  for (const d of detailsOf(e)) {
    if (typeof d['@type'] !== 'string' || !d['@type'].endsWith('google.rpc.RetryInfo')) continue;
    const m = /^(\d+(?:\.\d+)?)s$/.exec(String(d.retryDelay ?? ''));
    if (m) return Math.ceil(Number(m[1]));
  }
  return undefined;
}

/** Whether the upstream refused the key we sent (rather than anything the client sent). */
export function isKeyRefusal(httpStatus: number, e: GeminiErrorBody): boolean {
  if (httpStatus === 401) return true;
  const reasons = detailsOf(e).map((d) => d.reason).filter((r): r is string => typeof r === 'string');
  if (reasons.some((r) => KEY_REASONS.has(r))) return true;
  const message = e.message ?? '';
  if (httpStatus === 400) return /API key not valid|API key expired/i.test(message);
  // 403 is also "no access to this File / CachedContent", which is about the request.
  return httpStatus === 403 && !isFileAccess(e);
}

const isFileAccess = (e: GeminiErrorBody): boolean => /\b(File|CachedContent)\b/.test(e.message ?? '');

/** The provider error for an upstream error envelope (HTTP answer or mid-stream `{"error":…}` event). */
export function geminiError(provider: string, httpStatus: number, e: GeminiErrorBody, retryAfterHeader?: string | null): ProviderError {
  const message = e.message?.trim() || e.status || `HTTP ${httpStatus}`;
  if (isKeyRefusal(httpStatus, e)) return providerKeyRefused(provider, httpStatus, message);
  if (httpStatus === 403 && isFileAccess(e)) return new UpstreamFileError(provider, message);
  const after = retryAfterSeconds(retryAfterHeader) ?? retryDelayOf(e);
  return providerHttpError(provider, httpStatus, message, after === undefined ? undefined : String(after));
}

/** The envelope in a response body, or the raw text as the message when it is not one (an HTML page from a proxy, say). */
export function parseErrorBody(text: string): GeminiErrorBody {
  return parseErrorText(text) ?? { message: text.replace(/\s+/g, ' ').trim().slice(0, 300) };
}
