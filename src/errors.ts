/**
 * Every error the API can answer with: one class (ApiError, with ProviderError and MediaError
 * below it in their layers) and one catalogue of stable reason codes. Each code fixes the
 * Gemini status and HTTP code it answers with and says in one line what it means, the way
 * Fastify lists its `FST_ERR_*` codes. Code names never change once published (a test keeps
 * a snapshot of the list and checks each is documented in docs/errors.md); the message
 * carries the details of one occurrence.
 *
 * This module is below every layer and imports nothing. Only `server/` turns an ApiError into
 * an HTTP response (the envelope `{"error":{"code","message","status","details"}}`), and it
 * logs the reason code beside it; the code itself is not on the wire, because Gemini's
 * envelope has no place for it (where Gemini sends a `google.rpc.ErrorInfo` reason, such as
 * API_KEY_INVALID, the details carry exactly Gemini's).
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

export interface CatalogueEntry {
  /** HTTP status code of the response. */
  readonly http: number;
  /** Gemini's (google.rpc) status name in the envelope. */
  readonly status: CanonicalStatus;
  /** What the code means, in one line (docs/errors.md shows the same line). */
  readonly meaning: string;
}

const entry = (http: number, status: CanonicalStatus, meaning: string): CatalogueEntry => ({ http, status, meaning });

/** The catalogue. Add codes at the end of their group; never rename or remove one. */
export const ERROR_CATALOGUE = {
  // The request itself
  OCL_ERR_INVALID_ARGUMENT: entry(400, 'INVALID_ARGUMENT', 'A field of the request is missing, malformed or out of range; the message names the field.'),
  OCL_ERR_FAILED_PRECONDITION: entry(400, 'FAILED_PRECONDITION', 'The request is well-formed but cannot be served in the current state or configuration.'),
  OCL_ERR_NOT_FOUND: entry(404, 'NOT_FOUND', 'No such method, model or resource.'),
  OCL_ERR_PERMISSION_DENIED: entry(403, 'PERMISSION_DENIED', 'The caller may not do this.'),
  OCL_ERR_ALREADY_EXISTS: entry(409, 'ALREADY_EXISTS', 'A resource with this name already exists.'),
  OCL_ERR_RESOURCE_EXHAUSTED: entry(429, 'RESOURCE_EXHAUSTED', 'Too many requests or too much work at once; Retry-After says when to retry, if known.'),
  OCL_ERR_CANCELLED: entry(499, 'CANCELLED', 'The client closed the request before it completed.'),
  OCL_ERR_INTERNAL: entry(500, 'INTERNAL', 'A bug or an unexpected failure inside the server; the log has the cause.'),
  OCL_ERR_UNIMPLEMENTED: entry(501, 'UNIMPLEMENTED', 'A Gemini feature this server does not implement.'),
  OCL_ERR_UNAVAILABLE: entry(503, 'UNAVAILABLE', 'The server cannot serve this now (starting, disk full, overloaded); retry after Retry-After.'),
  OCL_ERR_OUTPUT_FORMAT_UNSUPPORTED: entry(400, 'FAILED_PRECONDITION', 'The engine cannot answer in the requested response MIME type or schema.'),
  // Credentials (messages and ErrorInfo details are Gemini's own)
  OCL_ERR_API_KEY_INVALID: entry(400, 'INVALID_ARGUMENT', 'The API key is not one this server knows (ErrorInfo reason API_KEY_INVALID, as Gemini).'),
  OCL_ERR_API_KEY_MISSING: entry(403, 'PERMISSION_DENIED', 'The request carries no credential (ErrorInfo reason SERVICE_DISABLED, as Gemini).'),
  OCL_ERR_UNAUTHENTICATED: entry(401, 'UNAUTHENTICATED', 'A bearer token was sent, which this server does not accept.'),
  // HTTP framing, before a route runs
  OCL_ERR_REQUEST_TIMEOUT: entry(408, 'DEADLINE_EXCEEDED', 'The request line, headers or body did not arrive in time; the connection is closed.'),
  OCL_ERR_PAYLOAD_TOO_LARGE: entry(413, 'INVALID_ARGUMENT', 'A part of the HTTP framing (chunk extensions) is over its limit.'),
  OCL_ERR_URI_TOO_LONG: entry(414, 'INVALID_ARGUMENT', 'A path segment of the URL is over the router limit.'),
  OCL_ERR_EXPECTATION_FAILED: entry(417, 'FAILED_PRECONDITION', 'An Expect header other than 100-continue.'),
  OCL_ERR_HEADERS_TOO_LARGE: entry(431, 'INVALID_ARGUMENT', 'The request line and headers are over the size the server reads.'),
  // Files API
  OCL_ERR_FILE_NOT_ACCESSIBLE: entry(403, 'PERMISSION_DENIED', 'The file does not exist, expired or belongs to another project (Gemini answers 403, not 404).'),
  OCL_ERR_FILE_QUOTA_EXCEEDED: entry(429, 'RESOURCE_EXHAUSTED', "The project's file storage quota is full (QuotaFailure detail, as Gemini)."),
  OCL_ERR_UPLOAD_FINALIZED: entry(400, 'FAILED_PRECONDITION', 'The resumable upload is already finalized and takes no more bytes or commands.'),
  OCL_ERR_UPLOAD_OFFSET: entry(400, 'INVALID_ARGUMENT', 'A resumable upload chunk does not start where the received bytes end.'),
  // Images (thrown as MediaError by media/)
  OCL_ERR_IMAGE_EMPTY: entry(400, 'INVALID_ARGUMENT', 'An image part has no bytes.'),
  OCL_ERR_IMAGE_UNSUPPORTED: entry(400, 'INVALID_ARGUMENT', 'The bytes are no supported image format.'),
  OCL_ERR_IMAGE_MIME_MISMATCH: entry(400, 'INVALID_ARGUMENT', 'The declared MIME type names another format than the bytes are.'),
  OCL_ERR_IMAGE_CORRUPT: entry(400, 'INVALID_ARGUMENT', 'The image header or pixel data is cut short or cannot be decoded.'),
  OCL_ERR_IMAGE_TOO_MANY_PIXELS: entry(400, 'INVALID_ARGUMENT', 'The image declares more pixels than the configured limit (decompression bomb guard).'),
  // Model providers (thrown as ProviderError by providers/)
  OCL_ERR_PROVIDER_UNREACHABLE: entry(503, 'UNAVAILABLE', 'The model provider cannot be reached; another provider in the route may answer.'),
  OCL_ERR_PROVIDER_TIMEOUT: entry(504, 'DEADLINE_EXCEEDED', 'The model provider did not answer in time.'),
  OCL_ERR_PROVIDER_RATE_LIMITED: entry(429, 'RESOURCE_EXHAUSTED', 'The model provider answered 429.'),
  OCL_ERR_PROVIDER_FAILED: entry(503, 'UNAVAILABLE', 'The model provider failed (5xx or a broken answer).'),
  OCL_ERR_PROVIDER_REJECTED: entry(400, 'INVALID_ARGUMENT', 'The model provider refused the request itself (4xx); the message names the provider.'),
  OCL_ERR_PROVIDER_FORBIDDEN: entry(400, 'FAILED_PRECONDITION', 'The model provider answered 401 or 403 to the request.'),
  OCL_ERR_PROVIDER_KEY_REFUSED: entry(503, 'UNAVAILABLE', "The model provider refused the operator's upstream key: not the client's fault."),
  OCL_ERR_PROVIDER_FILE_GONE: entry(403, 'PERMISSION_DENIED', 'The upstream provider no longer knows a file the request names.'),
  OCL_ERR_PROVIDER_CANNOT_ANSWER: entry(400, 'FAILED_PRECONDITION', 'The provider cannot answer this request as it is set up (model not pulled, finds only named things and none are named).'),
  OCL_ERR_PROVIDER_NEEDS_INPUT: entry(400, 'INVALID_ARGUMENT', 'The provider needs an input the request lacks (an image, labels to choose between).'),
  OCL_ERR_PROVIDER_MISCONFIGURED: entry(500, 'INTERNAL', 'A provider lists a capability it cannot serve: a bug in its registration.'),
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ApiErrorOptions {
  /** google.rpc detail objects for the envelope's `details`. */
  details?: unknown[];
  /** Extra response headers, e.g. Retry-After or X-Goog-Upload-Status. */
  headers?: Record<string, string>;
  /** What went wrong underneath (kept as ES2022 `cause`, logged, never sent). */
  cause?: unknown;
}

export class ApiError extends Error {
  readonly httpStatus: number;
  readonly status: CanonicalStatus;
  readonly details: unknown[];
  readonly headers: Record<string, string>;

  constructor(
    /** The stable reason code from ERROR_CATALOGUE. */
    readonly code: ErrorCode,
    message: string,
    opts: ApiErrorOptions = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApiError';
    this.httpStatus = ERROR_CATALOGUE[code].http;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = opts.details ?? [];
    this.headers = opts.headers ?? {};
  }

  /** The same error, its message prefixed with the request part it is about. */
  about(label: string): ApiError {
    return new ApiError(this.code, `${label}: ${this.message}`, { details: this.details, headers: this.headers, cause: this.cause });
  }

  /** The same error with more response headers (the state of an upload, say). */
  withHeaders(headers: Record<string, string>): ApiError {
    return new ApiError(this.code, this.message, { details: this.details, headers: { ...this.headers, ...headers }, cause: this.cause });
  }
}

/** An error of any catalogue code, for codes without a factory of their own below. */
export const apiError = (code: ErrorCode, message: string, opts?: ApiErrorOptions): ApiError => new ApiError(code, message, opts);

const SERVICE = 'generativelanguage.googleapis.com';

/** The google.rpc.BadRequest detail Gemini sends with INVALID_ARGUMENT. */
export function badRequestDetail(description: string, field?: string): unknown {
  return {
    '@type': 'type.googleapis.com/google.rpc.BadRequest',
    fieldViolations: [field ? { field, description } : { description }],
  };
}

export const retryInfo = (seconds: number): unknown[] => [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${seconds}s` }];

export const invalidArgument = (message: string, field?: string): ApiError =>
  new ApiError('OCL_ERR_INVALID_ARGUMENT', message, { details: [badRequestDetail(message, field)] });

export const failedPrecondition = (message: string): ApiError => new ApiError('OCL_ERR_FAILED_PRECONDITION', message);

export const notFound = (message: string): ApiError => new ApiError('OCL_ERR_NOT_FOUND', message);

export const permissionDenied = (message: string): ApiError => new ApiError('OCL_ERR_PERMISSION_DENIED', message);

export const alreadyExists = (message: string): ApiError => new ApiError('OCL_ERR_ALREADY_EXISTS', message);

export const unimplemented = (message: string): ApiError => new ApiError('OCL_ERR_UNIMPLEMENTED', message);

export const internal = (message = 'An internal error has occurred.', cause?: unknown): ApiError =>
  new ApiError('OCL_ERR_INTERNAL', message, { cause });

export const resourceExhausted = (message: string, retryAfterSeconds?: number): ApiError =>
  new ApiError(
    'OCL_ERR_RESOURCE_EXHAUSTED',
    message,
    retryAfterSeconds === undefined ? {} : { details: retryInfo(retryAfterSeconds), headers: { 'Retry-After': String(retryAfterSeconds) } },
  );

export const unavailable = (message: string, retryAfterSeconds = 1, cause?: unknown): ApiError =>
  new ApiError('OCL_ERR_UNAVAILABLE', message, { headers: { 'Retry-After': String(retryAfterSeconds) }, cause });

export const requestTimedOut = (message: string): ApiError => new ApiError('OCL_ERR_REQUEST_TIMEOUT', message);

export const clientClosed = (message: string): ApiError => new ApiError('OCL_ERR_CANCELLED', message);

/** Verbatim text and details of the real API for a key it does not know. */
export const apiKeyInvalid = (): ApiError => {
  const message = 'API key not valid. Please pass a valid API key.';
  return new ApiError('OCL_ERR_API_KEY_INVALID', message, {
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'API_KEY_INVALID',
        domain: 'googleapis.com',
        metadata: { service: SERVICE },
      },
      { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message },
    ],
  });
};

/** Verbatim text of the real API for a request that carries no credential. */
export const apiKeyMissing = (): ApiError =>
  new ApiError(
    'OCL_ERR_API_KEY_MISSING',
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
    {
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'SERVICE_DISABLED',
          domain: 'googleapis.com',
          metadata: { service: SERVICE },
        },
      ],
    },
  );

export const unauthenticated = (): ApiError =>
  new ApiError(
    'OCL_ERR_UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
  );

/** Gemini answers a missing, expired or foreign file with 403, not 404. */
export const fileNotAccessible = (id: string): ApiError =>
  new ApiError('OCL_ERR_FILE_NOT_ACCESSIBLE', `You do not have permission to access the File ${id} or it may not exist.`);

/** Gemini's words and QuotaFailure detail for a full file storage quota. */
export const fileQuotaExceeded = (limit: number): ApiError =>
  new ApiError(
    'OCL_ERR_FILE_QUOTA_EXCEEDED',
    `You exceeded your current quota for file storage: files of this project may hold at most ${limit} bytes. Delete files or wait for them to expire.\n* Quota exceeded for metric: generativelanguage.googleapis.com/file_storage_bytes, limit: ${limit}`,
    {
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [
            {
              quotaMetric: 'generativelanguage.googleapis.com/file_storage_bytes',
              quotaId: 'FileStorageBytesPerProject',
              quotaValue: String(limit),
            },
          ],
        },
      ],
    },
  );
