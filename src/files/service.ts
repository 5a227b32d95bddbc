/**
 * The Files API as one service: uploads (resumable sessions, single-request uploads), the
 * file lifecycle, listing, expiry and the lookup the generate path uses for
 * `fileData.fileUri`. HTTP lives in the routes; bytes and records live behind the
 * BlobStore / MetaStore seams (store.ts). The work is done by one module per job:
 *
 * - resumable.ts: Gemini's resumable protocol (start, chunks, query, cancel);
 * - single-upload.ts: multipart and raw uploads;
 * - lifecycle.ts: PROCESSING → ACTIVE | FAILED, get, list, delete, metadata-only create;
 * - sweeper.ts: expiry and orphans, under the store's sweep lease;
 * - wire.ts: metadata bodies and the File resource; upload-errors.ts: limits and errors.
 */
import type { Logger } from 'pino';
import { noDiskGuard, type DiskGuard } from './disk-space.js';
import {
  resolveMetadata,
  type FilesContext,
  type FilesLimits,
  type Inspect,
} from './context.js';
import {
  createMetadataOnly,
  deleteFile,
  getFile,
  listFiles,
  openForGeneration,
  recoverProcessing,
  type OpenedFile,
} from './lifecycle.js';
import { createResumableUploads, type ChunkInput, type StartUploadInput, type UploadStatus } from './resumable.js';
import { beginSingleUpload, type BeginUploadOptions, type SingleUpload } from './single-upload.js';
import type { BlobStore, FileListPage, FileRecord, MetaStore, UploadSession } from './store.js';
import { createSweeper, sweepHolder, type SweepReport } from './sweeper.js';
import type { FileMetadataInput } from './wire.js';

export interface FilesServiceOptions {
  blobs: BlobStore;
  meta: MetaStore;
  limits: FilesLimits;
  /** Epoch milliseconds; injectable for expiry tests. */
  clock?: () => number;
  inspect: Inspect;
  logger: Logger;
  /** Leftover objects nobody references are removed once they are this old (default 10 min). */
  orphanGraceMs?: number;
  /** Free-space floor for upload bytes (default: none; ENOSPC is still a 503). */
  disk?: DiskGuard;
  /** This process's name in the stores' leases (default: host, pid and a random suffix). */
  holder?: string;
}

export interface FilesService {
  readonly limits: FilesLimits;
  /** Opens a resumable upload session; the returned id is the credential of the upload URL. */
  startResumable(project: string, input: StartUploadInput): Promise<{ uploadId: string; session: UploadSession }>;
  uploadChunk(uploadId: string, chunk: ChunkInput): Promise<UploadStatus>;
  queryUpload(uploadId: string): Promise<{ status: 'active' | 'final'; received: number }>;
  cancelUpload(uploadId: string): Promise<void>;
  /** Starts a single-request upload; `contentLength` (when known) is checked against the limits first. */
  beginUpload(project: string, opts?: BeginUploadOptions): Promise<SingleUpload>;
  /** Throws the error finish() would for this metadata (invalid name, duplicate): fail fast. */
  checkMetadata(project: string, metadata: FileMetadataInput): Promise<void>;
  /** Metadata-only create: a record without bytes, FAILED with an explanation. */
  create(project: string, metadata: FileMetadataInput): Promise<FileRecord>;
  /** Throws 503 when `bytes` more would take the disk below its free-space floor (fail before a start). */
  ensureDiskSpace(bytes: number): Promise<void>;
  get(project: string, id: string): Promise<FileRecord>;
  /** Live files, newest first: `pageSize` of them after the cursor `after` (the previous page's `nextAfter`). */
  list(project: string, page: { pageSize: number; after?: number | undefined }): Promise<FileListPage>;
  delete(project: string, id: string): Promise<void>;
  /**
   * For `fileData.fileUri`: `files/{id}`, our absolute uri (any version, any host) or any
   * URL ending in `/files/{id}`. Waits for a PROCESSING file to finish.
   */
  openForGeneration(project: string, ref: string): Promise<OpenedFile>;
  sweep(): Promise<SweepReport>;
  startSweeper(): void;
  /** Stops the sweeper and waits for running work. Does not close the stores. */
  stop(): Promise<void>;
}

const ORPHAN_GRACE_MS = 10 * 60_000;

export function createFilesService(opts: FilesServiceOptions): FilesService {
  const ctx: FilesContext = {
    blobs: opts.blobs,
    meta: opts.meta,
    limits: opts.limits,
    clock: opts.clock ?? Date.now,
    inspect: opts.inspect,
    logger: opts.logger,
    disk: opts.disk ?? noDiskGuard,
    holder: opts.holder ?? sweepHolder(),
    streaming: new Map(),
    committing: new Set(),
    activeTemps: new Set(),
    processing: new Map(),
    recovered: Promise.resolve(),
  };
  const resumable = createResumableUploads(ctx);
  const sweeper = createSweeper(ctx, opts.orphanGraceMs ?? ORPHAN_GRACE_MS, resumable.isBusy);
  ctx.recovered = recoverProcessing(ctx).catch((err) => ctx.logger.error({ err }, 'could not resume file processing'));

  return {
    limits: ctx.limits,
    startResumable: (project, input) => resumable.start(project, input),
    uploadChunk: (uploadId, chunk) => resumable.chunk(uploadId, chunk),
    queryUpload: (uploadId) => resumable.query(uploadId),
    cancelUpload: (uploadId) => resumable.cancel(uploadId),
    beginUpload: (project, o) => beginSingleUpload(ctx, project, o),
    checkMetadata: async (project, metadata) => void (await resolveMetadata(ctx, project, metadata)),
    create: (project, metadata) => createMetadataOnly(ctx, project, metadata),
    ensureDiskSpace: (bytes) => ctx.disk.ensure(bytes),
    get: (project, id) => getFile(ctx, project, id),
    list: (project, page) => listFiles(ctx, project, page.pageSize, page.after),
    delete: (project, id) => deleteFile(ctx, project, id),
    openForGeneration: (project, ref) => openForGeneration(ctx, project, ref),
    sweep: () => sweeper.sweep(),
    startSweeper: () => sweeper.start(),
    async stop() {
      await sweeper.stop();
      await ctx.recovered;
      await Promise.allSettled([...ctx.processing.values()]);
    },
  };
}

export type { FilesLimits, Inspect, InspectResult } from './context.js';
export type { OpenedFile } from './lifecycle.js';
export type { ChunkInput, StartUploadInput, UploadStatus } from './resumable.js';
export type { SingleUpload } from './single-upload.js';
export type { SweepReport } from './sweeper.js';
export type { BlobStore, FileRecord, FileState, MetaStore, UploadSession } from './store.js';
export { cleanMimeType, parseFileMetadata, toFileResource, type FileMetadataInput, type FileResource } from './wire.js';
// The file-reference forms are a wire fact (wire/file-ref.ts); re-exported for the callers that still import it from here.
export { parseFileRef } from '../wire/file-ref.js';
