/**
 * The two storage seams of the Files API: where the bytes live (BlobStore) and where the
 * records live (MetaStore). The files service holds all policy (names, limits, expiry,
 * states); the stores keep things, hand them back, and make the few decisions that must be
 * atomic *in the store* so that several Ocellus replicas sharing one database and one
 * object store stay correct without talking to each other:
 *
 * - a file is inserted only if its id is free and the project's quota still allows it;
 * - an upload session's offset moves only from the value the writer saw (compare-and-set),
 *   and only the replica holding the session's writer lease may move it;
 * - a session is finalised once;
 * - one replica at a time holds the sweep lease and deletes expired rows and bytes.
 *
 * Implementations: sqlite-meta.ts + fs-blob.ts (the embedded default, one process). The
 * PostgreSQL and S3 ones implement the same interfaces; test/files/store-contract.ts is the
 * suite every implementation runs.
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

export type FilePatch = Partial<Pick<FileRecord, 'state' | 'mimeType' | 'errorMessage' | 'updateTime'>>;

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
  /** The BlobStore upload (multipart object) the chunks go to. */
  uploadKey: string;
  /**
   * Bytes received and recorded (the offset the next chunk must start at), as last set by
   * `endChunk`. A writer that died mid-chunk may have left more bytes in the BlobStore:
   * the next writer reconciles with `BlobStore.uploadedSize`.
   */
  receivedBytes: number;
  createTime: number;
  expirationTime: number;
  /** Set once the upload was finalised: the byte count (the session stays as a tombstone). */
  finalSize: number | undefined;
}

export interface FileListPage {
  files: FileRecord[];
  /** The `seq` to continue after (exclusive), when there are more. */
  nextAfter: number | undefined;
}

/**
 * Quota and name checks made atomically with an insert. `usedBytes` of the project (live
 * files + open sessions' reservations) plus `extraBytes` (bytes this process is streaming
 * that no row reserves yet) plus the new row's bytes must stay ≤ `quotaBytes`.
 */
export interface QuotaCheck {
  now: number;
  quotaBytes: number;
  extraBytes?: number;
}

export type InsertOutcome<T> =
  | { ok: true; value: T; /** An expired, unswept row of the same id that was removed to free the id: delete its bytes. */ reclaimed?: FileRecord }
  | { ok: false; reason: 'id-taken' }
  | { ok: false; reason: 'quota' };

export type ChunkClaim =
  | { ok: true; session: UploadSession }
  /** No open session (never was, cancelled, expired or swept). */
  | { ok: false; reason: 'missing' }
  | { ok: false; reason: 'final'; session: UploadSession }
  /** Another writer holds the session's lease (a concurrent request, maybe on another replica). */
  | { ok: false; reason: 'busy'; session: UploadSession };

export type FinalizeOutcome =
  | { ok: true; file: FileRecord; reclaimed?: FileRecord }
  | { ok: false; reason: 'missing' | 'final' | 'id-taken' | 'not-holder' };

/**
 * File records, upload sessions and the sweep lease. Every method is one statement or one
 * transaction in the store, so its checks hold across processes; the service never relies
 * on "read, then write" without one of the atomic methods below.
 */
export interface MetaStore {
  // --- files -------------------------------------------------------------------------
  /**
   * Inserts the file if (atomically) no live file and no open session of another upload
   * uses its id in the project, and the quota allows `record.sizeBytes` more. An expired
   * row of the same id is removed in the same transaction and handed back as `reclaimed`.
   * `quota: undefined` skips the quota check (the bytes were already reserved).
   */
  insertFile(record: NewFileRecord, quota: QuotaCheck | undefined): Promise<InsertOutcome<FileRecord>>;
  /** The record whatever its expiry (callers decide visibility). */
  getFile(project: string, id: string): Promise<FileRecord | undefined>;
  /** Updates the row; with `expectSeq`, only if the row is still that incarnation of the id. */
  updateFile(project: string, id: string, patch: FilePatch, expectSeq?: number): Promise<FileRecord | undefined>;
  /** Live files of a project, newest first, strictly after the cursor `after` (a seq). */
  listFiles(project: string, now: number, limit: number, after?: number): Promise<FileListPage>;
  /** Deletes and returns the row; with `expectSeq`, only if the row is still that incarnation. */
  deleteFile(project: string, id: string, expectSeq?: number): Promise<FileRecord | undefined>;
  /** Bytes held by live files plus the reservations of open sessions (declared size, else bytes received). */
  usedBytes(project: string, now: number): Promise<number>;
  /** Whether a live file or an open session already uses this id in the project. */
  idTaken(project: string, id: string, now: number): Promise<boolean>;
  /** Files left in a state (PROCESSING after a crash), oldest first. */
  filesInState(state: FileState, limit: number): Promise<FileRecord[]>;
  hasBlobKey(blobKey: string): Promise<boolean>;

  // --- resumable upload sessions -------------------------------------------------------
  /**
   * Inserts the session if (atomically) its file id is free in the project and the quota
   * allows its declared size (a session without a declared size reserves its bytes as they
   * arrive). An expired file row of the same id is reclaimed as in `insertFile`.
   */
  insertSession(session: UploadSession, quota: QuotaCheck): Promise<InsertOutcome<UploadSession>>;
  getSession(key: string): Promise<UploadSession | undefined>;
  /**
   * Takes the session's writer lease for one chunk: succeeds when the session is open,
   * not final, and no other holder's lease is unexpired. The lease ends at `endChunk` /
   * `releaseChunk`, or by itself after `leaseMs` (a writer killed mid-chunk).
   */
  beginChunk(key: string, holder: string, now: number, leaseMs: number): Promise<ChunkClaim>;
  /**
   * Compare-and-set of the offset: records `newOffset` only if the holder still holds the
   * lease and the recorded offset is `expectedOffset`; releases the lease. Returns false
   * (and changes nothing) otherwise.
   */
  endChunk(key: string, holder: string, expectedOffset: number, newOffset: number): Promise<boolean>;
  /** Drops the holder's lease without moving the offset (a chunk that failed before any byte). */
  releaseChunk(key: string, holder: string): Promise<void>;
  /**
   * Once only: inserts the file and marks the session final (a tombstone until it expires)
   * in one transaction. `holder` must hold the writer lease (taken by `beginChunk`), which
   * this releases. 'final' when it already was; 'id-taken' when a file of that id appeared.
   */
  finalizeSession(key: string, holder: string, record: NewFileRecord, now: number): Promise<FinalizeOutcome>;
  /** Removes the session (cancel, or a terminal error); true when there was one. */
  deleteSession(key: string): Promise<boolean>;
  hasUploadKey(uploadKey: string): Promise<boolean>;

  // --- expiry ----------------------------------------------------------------------
  /**
   * Takes (or renews) the sweep lease: true when `holder` now holds it until `now + ttlMs`.
   * Exactly one holder at a time across every process sharing the store.
   */
  tryAcquireSweepLease(holder: string, now: number, ttlMs: number): Promise<boolean>;
  releaseSweepLease(holder: string): Promise<void>;
  /** Expired file rows, oldest expiry first: the sweeper deletes their bytes, then the row (`deleteFile` with `expectSeq`). */
  expiredFiles(now: number, limit: number): Promise<FileRecord[]>;
  /** Expired sessions (open or final): the sweeper aborts their uploads, then deletes the row. */
  expiredSessions(now: number, limit: number): Promise<UploadSession[]>;

  close(): Promise<void>;
}

/** A committed object or an upload in the BlobStore. */
export interface StoredObject {
  key: string;
  size: number;
  /** Last write (upload: start or last part), epoch ms. */
  mtimeMs: number;
}

/** A part as written: where it starts in the final object and how many bytes it holds. */
export interface UploadPart {
  offset: number;
  size: number;
}

/**
 * Bytes: uploads in progress (multipart objects) and committed objects (the files).
 *
 * An upload is a sequence of parts, one per resumable chunk, each starting where the one
 * before ended; the store numbers them (S3 part numbers are its business). Writing at the
 * start of an earlier part replaces it and drops every later part (a refused chunk). S3 requires every part except the last to be at least
 * 5 MiB while Gemini clients send chunks of any size (8 MiB by default in the SDKs, but
 * a raw client may send 1 byte): staging small chunks (in a local spool or by buffering
 * until 5 MiB) is the S3 store's concern, invisible through this interface. A chunk
 * whose body fails midway: a store that can keep the bytes that arrived (the file
 * system) keeps them as the part, a store that cannot drops the part; either way
 * `uploadedSize` afterwards is where the client resumes.
 *
 * Keys are generated by the service: lowercase hex and dashes, at most 128 characters.
 */
export interface BlobStore {
  /** Starts a multipart object for an upload. Idempotent for the same key. */
  startUpload(uploadKey: string): Promise<void>;
  /**
   * Writes `body` as the part starting at byte `offset`: the end of the upload, or the start
   * of an earlier part (which is replaced, and every later part dropped). Resolves once the
   * part's bytes are durable; rejects with the body's own error when the body fails (see
   * above for what stays). Rejects when there is no such upload or `offset` is past its end.
   */
  writePart(uploadKey: string, offset: number, body: AsyncIterable<Uint8Array>): Promise<UploadPart>;
  /** Bytes held by the upload's parts (the committed offset), or undefined when there is no such upload. */
  uploadedSize(uploadKey: string): Promise<number | undefined>;
  /** Drops every byte from `offset` on; `offset` must be the start of a part or the end. */
  discardFrom(uploadKey: string, offset: number): Promise<void>;
  /** Joins the parts into the committed object `blobKey` (durably, all or nothing) and ends the upload. */
  completeUpload(uploadKey: string, blobKey: string): Promise<StoredObject>;
  /** Ends an upload and drops its bytes; no error when it does not exist. */
  abortUpload(uploadKey: string): Promise<void>;
  /** Uploads (open, never completed) last written before `before`: the sweeper aborts the unreferenced ones. */
  listUploads(before: number): Promise<StoredObject[]>;

  /** The committed object's bytes, or the inclusive byte `range` of them. */
  get(blobKey: string, range?: { start: number; end: number }): Readable;
  size(blobKey: string): Promise<number | undefined>;
  /** Removes a committed object; no error when it does not exist. */
  delete(blobKey: string): Promise<void>;
  /** Committed objects last written before `before`. */
  list(before: number): Promise<StoredObject[]>;
  /**
   * A local file holding the object's bytes, for decoders that read files. The file system
   * store answers its own path; a remote store downloads to a local cache it manages.
   */
  localPath(blobKey: string): Promise<string>;
}
