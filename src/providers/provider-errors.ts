/**
 * Provider failures as catalogue codes (OCL_ERR_PROVIDER_*, see errors.ts), in one place, so
 * every provider fails the same way:
 * unreachable → 503 UNAVAILABLE with Retry-After, upstream 429 → 429 RESOURCE_EXHAUSTED,
 * too slow → 504 DEADLINE_EXCEEDED, an upstream 4xx → 400 naming the provider. Never a
 * hang, never a 500 with a stack.
 */
import { ApiError, retryInfo, type ErrorCode } from '../errors.js';

/** Marks errors the router may answer by trying the next provider. */
export class ProviderError extends ApiError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly provider: string,
    /** Whether another provider might succeed where this one failed. */
    readonly retryable: boolean,
    opts: { headers?: Record<string, string>; details?: unknown[]; cause?: unknown } = {},
  ) {
    super(code, message, opts);
    this.name = 'ProviderError';
  }
}

const retryAfter = (seconds: number | undefined) =>
  seconds === undefined ? {} : { headers: { 'Retry-After': String(seconds) }, details: retryInfo(seconds) };

export const providerUnreachable = (provider: string, where: string, cause: string, retryAfterSeconds = 5): ProviderError =>
  new ProviderError(
    'OCL_ERR_PROVIDER_UNREACHABLE',
    `The model provider "${provider}" at ${where} is unreachable (${cause}). Start it, or route this model elsewhere in the routing file.`,
    provider,
    true,
    retryAfter(retryAfterSeconds),
  );

export const providerTimedOut = (provider: string, ms: number): ProviderError =>
  new ProviderError('OCL_ERR_PROVIDER_TIMEOUT', `The model provider "${provider}" did not answer within ${ms} ms.`, provider, true);

export const providerRateLimited = (provider: string, message: string, retryAfterSeconds?: number): ProviderError =>
  new ProviderError('OCL_ERR_PROVIDER_RATE_LIMITED', `The model provider "${provider}" is rate limited: ${message}`, provider, true, retryAfter(retryAfterSeconds));

export const providerFailed = (provider: string, message: string, retryAfterSeconds = 1): ProviderError =>
  new ProviderError('OCL_ERR_PROVIDER_FAILED', `The model provider "${provider}" failed: ${message}`, provider, true, retryAfter(retryAfterSeconds));

/** The provider refused the request itself (4xx other than 429): another provider would likely refuse too. */
export const providerRejected = (provider: string, httpStatus: number, message: string): ProviderError =>
  new ProviderError(
    httpStatus === 403 || httpStatus === 401 ? 'OCL_ERR_PROVIDER_FORBIDDEN' : 'OCL_ERR_PROVIDER_REJECTED',
    `The model provider "${provider}" rejected the request (HTTP ${httpStatus}): ${message}`,
    provider,
    false,
  );

/**
 * The provider refused the operator's own credentials (the key in the routing file or on the
 * command line). Not the client's fault, so not a 4xx: the client can only wait for the
 * operator, and another provider in the route may still answer.
 */
export const providerKeyRefused = (provider: string, httpStatus: number, message: string): ProviderError =>
  new ProviderError(
    'OCL_ERR_PROVIDER_KEY_REFUSED',
    `The model provider "${provider}" refused the server operator's API key (HTTP ${httpStatus}: ${message}). This is not a problem with your request or your own key: the operator of this server must configure a valid upstream key.`,
    provider,
    true,
  );

/** The provider cannot answer this kind of request; `retryable` when another provider might. */
export const providerCannotAnswer = (provider: string, message: string, retryable: boolean): ProviderError =>
  new ProviderError('OCL_ERR_PROVIDER_CANNOT_ANSWER', message, provider, retryable);

/** The provider needs an input the request lacks (an image, labels). */
export const providerNeedsInput = (provider: string, message: string, retryable: boolean): ProviderError =>
  new ProviderError('OCL_ERR_PROVIDER_NEEDS_INPUT', message, provider, retryable);

/** Seconds from a Retry-After header (delta seconds or an HTTP date), if usable. */
export function retryAfterSeconds(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return Math.ceil(s);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** An HTTP answer that is not 2xx, as the provider error it stands for. */
export function providerHttpError(provider: string, status: number, message: string, retryAfter?: string | null): ProviderError {
  const after = retryAfterSeconds(retryAfter);
  if (status === 429) return providerRateLimited(provider, message, after);
  if (status === 408 || status === 504) return providerTimedOut(provider, 0);
  if (status >= 500) return providerFailed(provider, `HTTP ${status}: ${message}`, after ?? 1);
  return providerRejected(provider, status, message);
}
