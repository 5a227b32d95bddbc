/**
 * The two storage seams of the Files API: where the bytes live (BlobStore) and where the
 * records live (MetaStore). The service (service.ts) holds all policy (names, quotas,
 * expiry, states); the stores only keep things and hand them back.
 *
 * Implementations: fs-blob.ts (plain files, atomic rename on commit) and sqlite-meta.ts
 * (better-sqlite3, WAL). Tests can swap either for an in-memory fake.
 */
import type { Readable } from 'node:stream';

export type FileState = 'PROCESSING' | 'ACTIVE' | 'FAILED';

/** One uploaded (or metadata-only) file as stored. Times are epoch milliseconds. */
export interface FileRecord {
  /** Insertion order, unique across all projects; the list order and page cursor. */
  seq: number;
  project: string;
  /** The `{id}` of `files/{id}`. Unique within a project. */
  id: string;
  displayName: string | undefined;
  /** Declared type while PROCESSING, the sniffed type once ACTIVE. Never empty. */
  mimeType: string;
  sizeBytes: number;
  /** Hex SHA-256 of the bytes; empty for a record without content. */
  sha256Hex: string;
  /** Where the bytes are in the BlobStore; undefined for a record without content. */
  blobKey: string | undefined;
  state: FileState;
  /** Why the file is FAILED (`error: {code: 3, message}` on the wire). */
  errorMessage: string | undefined;
  createTime: number;
  updateTime: number;
  expirationTime: number;
}

export type NewFileRecord = Omit<FileRecord, 'seq'>;

/** A resumable upload that was started and not yet cancelled or swept. */
export interface UploadSession {
  /** Hex SHA-256 of the upload id; the id itself (the credential) is never stored. */
  key: string;
  project: string;
  /** The file id the upload will create (reserved while the session is open). */
  fileId: string;
  displayName: string | undefined;
  mimeType: string | undefined;
  /** X-Goog-Upload-Header-Content-Length (or the body's sizeBytes), when the client gave one. */
  declaredSize: number | undefined;
  /** The partial object the chunks are appended to. */
  partialKey: string;
  createTime: number;
  expirationTime: number;
  /** Set once the upload was finalised: the byte count (the session stays as a tombstone). */
  finalSize: number | undefined;
}

export interface FileListPage {
  files: FileRecord[];
  /** The `seq` to continue after, when there are more. */
  nextAfter: number | undefined;
}

/**
 * File records and upload sessions. Synchronous on purpose: every call is one short SQLite
 * statement or transaction, and the service relies on a check followed by an insert not
 * interleaving with another request (no await in between).
 */
export interface MetaStore {
  insertFile(record: NewFileRecord): FileRecord;
  /** The record whatever its expiry (callers decide visibility). */
  getFile(project: string, id: string): FileRecord | undefined;
  updateFile(
    project: string,
    id: string,
    patch: Partial<Pick<FileRecord, 'state' | 'mimeType' | 'errorMessage' | 'updateTime'>>,
  ): FileRecord | undefined;
  /** Live files of a project, newest first, strictly after the cursor `after` (a seq). */
  listFiles(project: string, now: number, limit: number, after?: number): FileListPage;
  deleteFile(project: string, id: string): FileRecord | undefined;
  /** Bytes held by live files plus the declared sizes of open (unfinalised, unexpired) sessions. */
  usedBytes(project: string, now: number): number;
  /** Whether a live file or an open session already uses this id in the project. */
  idTaken(project: string, id: string, now: number): boolean;
  expiredFiles(now: number, limit: number): FileRecord[];
  filesInState(state: FileState, limit: number): FileRecord[];
  hasBlobKey(blobKey: string): boolean;

  insertSession(session: UploadSession): void;
  getSession(key: string): UploadSession | undefined;
  deleteSession(key: string): void;
  /** Atomically: insert the file and mark the session final (kept as a tombstone until it expires). */
  finalizeSession(key: string, record: NewFileRecord): FileRecord;
  expiredSessions(now: number, limit: number): UploadSession[];
  hasPartialKey(partialKey: string): boolean;

  close(): void;
}

/** Appends to a partial object. Not safe for concurrent use; one writer per partial at a time. */
export interface PartialWriter {
  /** Bytes in the partial object (everything appended so far). */
  readonly size: number;
  /**
   * Appends the whole chunk at the end. On failure the object is cut back to the size it
   * had before the call, so `size` always matches the bytes on disk.
   */
  append(chunk: Uint8Array): Promise<void>;
  /** Cuts the object back to `size` bytes (at most its current size): a refused chunk is undone. */
  truncate(size: number): Promise<void>;
  /** Flushes appended bytes to stable storage. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface StoredObject {
  key: string;
  size: number;
  mtimeMs: number;
}

/** Bytes: partial objects being uploaded, and committed objects (the files). */
export interface BlobStore {
  /** Opens (creating if needed) a partial object for appending at its end. */
  openPartial(partialKey: string): Promise<PartialWriter>;
  /** Size of a partial object, or undefined when there is none. */
  partialSize(partialKey: string): Promise<number | undefined>;
  readPartial(partialKey: string): Readable;
  /** Removes a partial object; no error when it does not exist. */
  deletePartial(partialKey: string): Promise<void>;
  /** Durably moves a (synced, closed) partial object to its final key. */
  commit(partialKey: string, blobKey: string): Promise<void>;
  /** Local path of a committed object (the decoder reads it directly). */
  blobPath(blobKey: string): string;
  readBlob(blobKey: string): Readable;
  blobSize(blobKey: string): Promise<number | undefined>;
  /** Removes a committed object; no error when it does not exist. */
  deleteBlob(blobKey: string): Promise<void>;
  listBlobs(): Promise<StoredObject[]>;
  listPartials(): Promise<StoredObject[]>;
}
