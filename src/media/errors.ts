/**
 * The one error the media layer throws for a bad image: an ApiError whose catalogue code
 * (OCL_ERR_IMAGE_*, errors.ts) follows its reason, answered as 400 INVALID_ARGUMENT with a
 * BadRequest detail. Messages are written for the API caller: they name the part
 * (`contents[0].parts[1].inlineData`) and say what is wrong in plain words. `reason` lets
 * callers that do not answer HTTP (the Files API marking a file FAILED, tests) branch
 * without parsing the message.
 */
import { ApiError, badRequestDetail, type ErrorCode } from '../errors.js';

export type MediaErrorReason =
  /** No bytes at all. */
  | 'empty'
  /** Magic bytes match no supported image format (or a recognised but unsupported one). */
  | 'unsupported'
  /** The declared MIME type names a different format than the bytes are. */
  | 'mime-mismatch'
  /** The header or the pixel data is cut short or cannot be decoded. */
  | 'corrupt'
  /** The header declares more pixels than the configured limit (decompression bomb guard). */
  | 'too-many-pixels';

const CODES: Record<MediaErrorReason, ErrorCode> = {
  empty: 'OCL_ERR_IMAGE_EMPTY',
  unsupported: 'OCL_ERR_IMAGE_UNSUPPORTED',
  'mime-mismatch': 'OCL_ERR_IMAGE_MIME_MISMATCH',
  corrupt: 'OCL_ERR_IMAGE_CORRUPT',
  'too-many-pixels': 'OCL_ERR_IMAGE_TOO_MANY_PIXELS',
};

export class MediaError extends ApiError {
  /** The message without the part label, kept so the error can be re-addressed (`forPart`). */
  readonly problem: string;

  constructor(
    message: string,
    readonly reason: MediaErrorReason = 'corrupt',
    problem?: string,
    cause?: unknown,
  ) {
    super(CODES[reason], message, { details: [badRequestDetail(message)], cause });
    this.name = 'MediaError';
    this.problem = problem ?? message;
  }

  /** `contents[0].parts[1].inlineData` + `is empty` → one error whose message names the part. */
  static about(partLabel: string, problem: string, reason: MediaErrorReason): MediaError {
    return new MediaError(`${partLabel} ${problem}`, reason, problem);
  }

  /**
   * The same problem, named for another part. A decode shared between requests (the image
   * cache joins concurrent decodes of identical bytes) fails once, but each waiting caller
   * must see its own part in the message.
   */
  forPart(partLabel: string): MediaError {
    return MediaError.about(partLabel, this.problem, this.reason);
  }
}
