/**
 * One error type for everything the API can answer with, and the catalogue of the
 * Gemini statuses we use. Every thrown ApiError becomes the Gemini error envelope
 * `{"error":{"code","message","status","details"}}` in one place (app.ts).
 */

export type CanonicalStatus =
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'OUT_OF_RANGE'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'RESOURCE_EXHAUSTED'
  | 'CANCELLED'
  | 'INTERNAL'
  | 'UNIMPLEMENTED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED';

export interface ErrorBody {
  error: { code: number; message: string; status: CanonicalStatus; details: unknown[] };
}

export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: CanonicalStatus,
    message: string,
    readonly details: unknown[] = [],
    /** Extra response headers, e.g. Retry-After or X-Goog-Upload-Status. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The same error, its message prefixed with the request part it is about. */
  about(label: string): ApiError {
    return new ApiError(this.httpStatus, this.status, `${label}: ${this.message}`, this.details, this.headers);
  }

  toBody(): ErrorBody {
    return { error: { code: this.httpStatus, message: this.message, status: this.status, details: this.details } };
  }
}

const SERVICE = 'generativelanguage.googleapis.com';

function badRequestDetail(description: string, field?: string): unknown {
  return {
    '@type': 'type.googleapis.com/google.rpc.BadRequest',
    fieldViolations: [field ? { field, description } : { description }],
  };
}

export const invalidArgument = (message: string, field?: string): ApiError =>
  new ApiError(400, 'INVALID_ARGUMENT', message, [badRequestDetail(message, field)]);

export const failedPrecondition = (message: string): ApiError => new ApiError(400, 'FAILED_PRECONDITION', message);

export const notFound = (message: string): ApiError => new ApiError(404, 'NOT_FOUND', message);

export const permissionDenied = (message: string): ApiError => new ApiError(403, 'PERMISSION_DENIED', message);

export const alreadyExists = (message: string): ApiError => new ApiError(409, 'ALREADY_EXISTS', message);

export const unimplemented = (message: string): ApiError => new ApiError(501, 'UNIMPLEMENTED', message);

export const internal = (message = 'An internal error has occurred.'): ApiError => new ApiError(500, 'INTERNAL', message);

export const resourceExhausted = (message: string, retryAfterSeconds?: number): ApiError =>
  new ApiError(
    429,
    'RESOURCE_EXHAUSTED',
    message,
    retryAfterSeconds === undefined
      ? []
      : [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterSeconds}s` }],
    retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) },
  );

export const unavailable = (message: string, retryAfterSeconds = 1): ApiError =>
  new ApiError(503, 'UNAVAILABLE', message, [], { 'Retry-After': String(retryAfterSeconds) });

/** Verbatim text and details of the real API for a key it does not know. */
export const apiKeyInvalid = (): ApiError => {
  const message = 'API key not valid. Please pass a valid API key.';
  return new ApiError(400, 'INVALID_ARGUMENT', message, [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'API_KEY_INVALID',
      domain: 'googleapis.com',
      metadata: { service: SERVICE },
    },
    { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message },
  ]);
};

/** Verbatim text of the real API for a request that carries no credential. */
export const apiKeyMissing = (): ApiError =>
  new ApiError(
    403,
    'PERMISSION_DENIED',
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
    [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'SERVICE_DISABLED',
        domain: 'googleapis.com',
        metadata: { service: SERVICE },
      },
    ],
  );

export const unauthenticated = (): ApiError =>
  new ApiError(
    401,
    'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
  );

/** Gemini answers a missing, expired or foreign file with 403, not 404. */
export const fileNotAccessible = (id: string): ApiError =>
  permissionDenied(`You do not have permission to access the File ${id} or it may not exist.`);
