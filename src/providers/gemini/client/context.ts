/**
 * What the client's parts share: where to send, how, and which errors a failure becomes.
 * Its own module so the upload protocol and the client both use it without importing each other.
 */
import type { GeminiErrorBody } from './envelope.js';
import type { HttpAnswer, HttpRequest } from './transport.js';
import type { FileResource } from './types.js';

/** What a failure becomes; the client says what happened, the caller chooses the error. */
export interface ClientErrors {
  /**
   * A non-2xx answer (`answer` set) or an error event in a stream (`status` is the envelope's
   * code then). `error` is the envelope, undefined when the body is not one; `text` the raw body.
   */
  answer(status: number, error: GeminiErrorBody | undefined, info: { text: string; answer?: HttpAnswer }): Error;
  /** The server broke the protocol: an event that is not JSON, an upload without its URL or file. */
  protocol(message: string): Error;
  /** An uploaded file the server could not process (state FAILED). */
  fileFailed(file: FileResource): Error;
  /** An uploaded file still PROCESSING after `ms`. */
  processingTimedOut(file: FileResource, ms: number): Error;
}

/** Settings and the transport, as the client hands them to its parts. */
export interface ClientContext {
  baseUrl: string;
  version: string;
  auth: Record<string, string>;
  errors: ClientErrors;
  pollMs: number;
  maxProcessingMs: number;
  uploadUrl: (named: string) => string;
  send(request: HttpRequest): Promise<HttpAnswer>;
}
