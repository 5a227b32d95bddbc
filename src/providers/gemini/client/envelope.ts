/**
 * Gemini's error envelope `{"error":{"code","message","status","details"}}` as a client
 * reads it: from a failed answer's body, or from a stream event that carries one (Gemini
 * reports a failure after the headers that way). What the caller makes of it (a CLI
 * message, a provider error the router can fall back on) is the caller's business.
 */
export interface GeminiErrorBody {
  code?: number;
  message?: string;
  status?: string;
  details?: unknown[];
}

/** The envelope's error when `value` is one (a streamed JSON array answers errors as `[{"error":…}]`). */
export function errorBodyOf(value: unknown): GeminiErrorBody | undefined {
  const first = Array.isArray(value) ? (value[0] as unknown) : value;
  if (!first || typeof first !== 'object' || !('error' in first)) return undefined;
  const err = (first as { error: unknown }).error;
  if (typeof err === 'string') return { message: err };
  if (!err || typeof err !== 'object') return undefined;
  const { code, message, status, details } = err as Record<string, unknown>;
  return {
    ...(typeof code === 'number' ? { code } : {}),
    ...(typeof message === 'string' ? { message } : {}),
    ...(typeof status === 'string' ? { status } : {}),
    ...(Array.isArray(details) ? { details } : {}),
  };
}

/** The envelope in a response body, or undefined when the body is not one (an HTML page from a proxy, say). */
export function parseErrorText(text: string): GeminiErrorBody | undefined {
  try {
    return errorBodyOf(JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

/** Gemini's status name for an HTTP status, for answers that carry no envelope. */
export const STATUS_OF_HTTP: Readonly<Record<number, string>> = {
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
