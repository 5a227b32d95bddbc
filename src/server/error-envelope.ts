/**
 * Gemini's error envelope, written only here: lower layers throw catalogue errors
 * (errors.ts) and know nothing of HTTP bodies.
 */
import type { ApiError, CanonicalStatus } from '../errors.js';

export interface ErrorBody {
  error: { code: number; message: string; status: CanonicalStatus; details: unknown[] };
}

/** `{"error":{"code","message","status","details"}}`: the reason code stays in the log, Gemini's envelope has no field for it. */
export const errorBody = (e: ApiError): ErrorBody => ({
  error: { code: e.httpStatus, message: e.message, status: e.status, details: e.details },
});
