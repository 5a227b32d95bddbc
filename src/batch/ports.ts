/**
 * What batch mode needs from the rest of the server, as narrow interfaces the composition
 * root (create-server.ts) adapts the real services to. Batch mode never reaches into the
 * Files API's stores or the generate service's internals.
 */
import type { Readable } from 'node:stream';

/** Runs one request exactly as `generateContent` would and returns its response body. */
export type RunRequest = (job: { project: string; model: string; request: unknown; signal: AbortSignal }) => Promise<unknown>;

/** Resolves a model name (`gemini-2.5-flash` or `models/…`) to `models/{id}`; throws 404 when unknown. */
export type ResolveModel = (name: string, version: string) => string;

export interface GeneratedFile {
  stream: Readable;
  sizeBytes: number;
  mimeType: string;
}

/** The Files API as batch mode uses it. */
export interface BatchFiles {
  /** The bytes of the project's file `files/{id}`; throws the Files API's error when it is missing or not the caller's. */
  readInput(project: string, fileName: string): Promise<Buffer>;
  /**
   * Stores `bytes` as the project's file `files/{fileId}` (ACTIVE, the given type), or does
   * nothing when that file already exists (a finalisation repeated after a restart).
   * Returns `files/{fileId}`.
   */
  createGenerated(project: string, fileId: string, displayName: string, mimeType: string, bytes: Buffer): Promise<string>;
  /** Opens a file's bytes; throws the Files API's error when it is missing or not the caller's. */
  open(project: string, fileId: string): Promise<GeneratedFile>;
}

/**
 * Whether the queue may start another request now: interactive requests go first, so
 * batch work is taken only while the model pool has nobody else waiting. `inFlight` is
 * how many batch requests this worker is already running.
 */
export type WorkGate = (inFlight: number) => boolean;
