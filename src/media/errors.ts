/**
 * The one error the media layer throws for a bad image. The server maps it to
 * 400 INVALID_ARGUMENT and passes the message through unchanged, so messages are written
 * for the API caller: they name the part (`contents[0].parts[1].inlineData`) and say what
 * is wrong in plain words. `reason` lets callers that do not answer HTTP (the Files API
 * marking a file FAILED, tests) branch without parsing the message.
 */

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

export class MediaError extends Error {
  /** The message without the part label, kept so the error can be re-addressed (`forPart`). */
  readonly problem: string;

  constructor(
    message: string,
    readonly reason: MediaErrorReason = 'corrupt',
    problem?: string,
  ) {
    super(message);
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
