/**
 * The 429 Gemini answers when a key is over its rate: RESOURCE_EXHAUSTED with a QuotaFailure
 * naming the quota, a RetryInfo and the Retry-After header (the SDKs' retry options and
 * well-behaved clients wait that long).
 */
import { type ApiError, resourceExhausted } from '../errors.js';

export interface QuotaViolation {
  /** e.g. `ocellus/requests`. */
  quotaMetric: string;
  /** e.g. `RequestsPerMinutePerApiKey`. */
  quotaId: string;
  /** The limit (Gemini writes it as a string). */
  quotaValue: number;
}

export function quotaExceeded(violation: QuotaViolation, what: string, retryAfterMs: number): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const err = resourceExhausted(
    `You exceeded your current quota: ${what}. Please retry in ${seconds}s.\n* Quota exceeded for metric: ${violation.quotaMetric}, limit: ${violation.quotaValue}`,
    seconds,
  );
  // Gemini lists the QuotaFailure before the RetryInfo.
  err.details.unshift({
    '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
    violations: [{ quotaMetric: violation.quotaMetric, quotaId: violation.quotaId, quotaValue: String(violation.quotaValue) }],
  });
  return err;
}
