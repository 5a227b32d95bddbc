/**
 * The Files API's own errors: limits (per file, per project), upload sessions that are
 * gone, finalised or busy, and the two internal signals the upload protocol uses to tell
 * a refused chunk (session kept) from an upload that cannot go on (session dropped).
 *
 * Quota behaviour follows Gemini: a file over the per-file limit is 400 INVALID_ARGUMENT;
 * a project over its storage quota is 429 RESOURCE_EXHAUSTED with a QuotaFailure detail
 * naming `FileStorageBytesPerProject` (errors.ts `fileQuotaExceeded`).
 */
import { apiError, type ApiError, invalidArgument, notFound, unavailable } from '../errors.js';
import { SUPPORTED_FORMATS_TEXT } from '../media/sniff.js';
import { diskFull, isDiskFull } from './disk-space.js';

export const UNSPECIFIED_MIME = 'application/octet-stream';

export const uploadNotFound = (): ApiError =>
  notFound('The upload session does not exist, has expired or was cancelled. Start a new upload.');

export const tooLarge = (bytes: number, limit: number, declared = false): ApiError =>
  invalidArgument(
    `${declared ? 'Declared file size' : 'File size'} ${bytes} bytes exceeds the maximum of ${limit} bytes per file.`,
  );

export const offsetMismatch = (offset: number, received: number): ApiError =>
  apiError(
    'OCL_ERR_UPLOAD_OFFSET',
    `Invalid X-Goog-Upload-Offset ${offset}: the upload has received ${received} bytes; send the next bytes from offset ${received}.`,
    { headers: { 'X-Goog-Upload-Status': 'active', 'X-Goog-Upload-Size-Received': String(received) } },
  );

export const finalizedTakesNoBytes = (fileId: string, final: number): ApiError =>
  apiError(
    'OCL_ERR_UPLOAD_FINALIZED',
    `The upload was already finalized as files/${fileId} with ${final} bytes and takes no more bytes. Start a new upload for new content.`,
    { headers: { 'X-Goog-Upload-Status': 'final', 'X-Goog-Upload-Size-Received': String(final) } },
  );

export const finalizedCannotCancel = (): ApiError =>
  apiError('OCL_ERR_UPLOAD_FINALIZED', 'The upload was already finalized and cannot be cancelled.', {
    headers: { 'X-Goog-Upload-Status': 'final' },
  });

/** Another request (maybe on another replica) is writing a chunk of this upload right now. */
export const uploadBusy = (received: number): ApiError =>
  withUploadState(
    unavailable('Another request is writing to this upload. Query the upload status and resume from the bytes received.'),
    received,
  );

/** An error after which an upload cannot go on: its session and bytes are dropped. */
export class TerminalUploadError extends Error {
  constructor(readonly apiError: ApiError) {
    super(apiError.message);
  }
}

/** A chunk refused as a whole: its bytes are cut off again, the session and earlier bytes stay. */
export class RejectedChunkError extends Error {
  constructor(readonly apiError: ApiError) {
    super(apiError.message);
  }
}

/** The same error with the upload's state in the headers, so a client knows where to resume. */
export const withUploadState = (err: ApiError, received: number): ApiError =>
  err.withHeaders({ 'X-Goog-Upload-Status': 'active', 'X-Goog-Upload-Size-Received': String(received) });

/** Awaits a store call, turning a full disk (ENOSPC, SQLITE_FULL) into 503. */
export async function storing<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (isDiskFull(err)) throw diskFull();
    throw err;
  }
}

export const imagesOnly = (mime: string): string =>
  `Ocellus understands images only; a file of type ${mime} cannot be used. Upload an image (${SUPPORTED_FORMATS_TEXT}).`;

export const isImageLike = (mime: string | undefined): boolean =>
  mime === undefined || mime === UNSPECIFIED_MIME || mime.startsWith('image/');
