/**
 * A file's life after its bytes are stored: PROCESSING → ACTIVE | FAILED (the inspector
 * decides), lookups scoped to the caller's project (missing, expired and foreign files
 * are all the same 403), listing, deletion, metadata-only records, and the lookup the
 * generate path uses for `fileData.fileUri`.
 */
import { alreadyExists, failedPrecondition, fileNotAccessible, invalidArgument } from '../errors.js';
import { parseFileRef } from '../wire/file-ref.js';
import {
  dropReclaimed,
  generatedId,
  procKey,
  resolveMetadata,
  visible,
  type FilesContext,
  type InspectResult,
} from './context.js';
import type { FileListPage, FileRecord } from './store.js';
import { imagesOnly, isImageLike, storing, UNSPECIFIED_MIME } from './upload-errors.js';
import type { FileMetadataInput } from './wire.js';

export interface OpenedFile {
  name: string;
  mimeType: string;
  /** A local file with the bytes (the store's own, or its local cache of a remote object). */
  path: string;
  sha256Hex: string;
  sizeBytes: number;
}

/** PROCESSING → ACTIVE | FAILED. Registered in `ctx.processing` synchronously, so waiters find it. */
export function processFile(ctx: FilesContext, rec: FileRecord): Promise<FileRecord> {
  const key = procKey(rec.project, rec.id);
  const existing = ctx.processing.get(key);
  if (existing) return existing;
  const run = (async (): Promise<FileRecord> => {
    let result: InspectResult;
    const declared = rec.mimeType;
    if (!rec.blobKey || (await ctx.blobs.size(rec.blobKey)) === undefined) {
      result = { ok: false, message: 'The file content was lost before it could be processed. Upload it again.' };
    } else if (!isImageLike(declared)) {
      result = { ok: false, message: imagesOnly(declared) };
    } else {
      try {
        result = await ctx.inspect(await ctx.blobs.localPath(rec.blobKey), declared);
      } catch (err) {
        ctx.logger.error({ err, file: rec.id }, 'file inspection failed');
        result = { ok: false, message: `The file could not be processed: ${(err as Error).message ?? String(err)}` };
      }
    }
    const patch = result.ok
      ? { state: 'ACTIVE' as const, mimeType: result.mimeType, errorMessage: undefined, updateTime: ctx.clock() }
      : { state: 'FAILED' as const, errorMessage: result.message, updateTime: ctx.clock() };
    // Only this incarnation of the id: a file deleted and re-created meanwhile is not touched.
    return (await ctx.meta.updateFile(rec.project, rec.id, patch, rec.seq)) ?? { ...rec, ...patch };
  })().finally(() => ctx.processing.delete(key));
  ctx.processing.set(key, run);
  return run;
}

/** Files left PROCESSING by a previous run are inspected again (waiters find them in `processing`). */
export async function recoverProcessing(ctx: FilesContext): Promise<void> {
  for (const rec of await ctx.meta.filesInState('PROCESSING', 100_000)) void processFile(ctx, rec);
}

/** How long a use of a file waits for another replica's inspection of it. */
const FOREIGN_PROCESSING_WAIT_MS = 30_000;

/**
 * Waits for a PROCESSING file's inspection: this process's own (or one it resumed after a
 * restart), else another replica's, by re-reading the row for a while.
 */
export async function settled(ctx: FilesContext, rec: FileRecord): Promise<FileRecord> {
  if (rec.state !== 'PROCESSING') return rec;
  await ctx.recovered;
  const own = ctx.processing.get(procKey(rec.project, rec.id));
  if (own) return (await own.catch(() => undefined)) ?? rec;
  const until = Date.now() + FOREIGN_PROCESSING_WAIT_MS;
  let current: FileRecord | undefined = rec;
  while (current?.state === 'PROCESSING' && current.seq === rec.seq && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    current = await ctx.meta.getFile(rec.project, rec.id);
  }
  return current ?? rec;
}

export async function getFile(ctx: FilesContext, project: string, id: string): Promise<FileRecord> {
  const rec = await visible(ctx, project, id);
  if (!rec) throw fileNotAccessible(id);
  return rec;
}

/** One page of live files, newest first, after the cursor (a seq from the previous page). */
export function listFiles(ctx: FilesContext, project: string, pageSize: number, after: number | undefined): Promise<FileListPage> {
  return ctx.meta.listFiles(project, ctx.clock(), pageSize, after);
}

export async function deleteFile(ctx: FilesContext, project: string, id: string): Promise<void> {
  const rec = await getFile(ctx, project, id);
  // Record first (the file is gone at once); a crash before the bytes go leaves an
  // orphan the sweeper removes.
  await ctx.meta.deleteFile(project, id, rec.seq);
  if (rec.blobKey) await ctx.blobs.delete(rec.blobKey);
}

/** Metadata-only create: a record without bytes, FAILED with an explanation. */
export async function createMetadataOnly(ctx: FilesContext, project: string, metadata: FileMetadataInput): Promise<FileRecord> {
  for (;;) {
    const r = await resolveMetadata(ctx, project, metadata);
    const now = ctx.clock();
    const inserted = await storing(
      ctx.meta.insertFile(
        {
          project,
          id: r.id,
          displayName: r.displayName,
          mimeType: r.mimeType ?? UNSPECIFIED_MIME,
          sizeBytes: 0,
          sha256Hex: '',
          blobKey: undefined,
          state: 'FAILED',
          errorMessage: `File files/${r.id} has no content: it was created from metadata only. Upload the bytes with POST /upload/v1beta/files (resumable, multipart or raw) to get a usable file.`,
          createTime: now,
          updateTime: now,
          expirationTime: now + ctx.limits.fileTtlMs,
        },
        undefined,
      ),
    );
    if (inserted.ok) {
      dropReclaimed(ctx, inserted.reclaimed);
      return inserted.value;
    }
    // A generated id taken between the check and the insert is drawn again.
    if (!generatedId(metadata)) throw alreadyExists(`File files/${r.id} already exists.`);
  }
}

/**
 * For `fileData.fileUri`: `files/{id}`, our absolute uri (any version, any host) or any
 * URL ending in `/files/{id}`. Waits for a PROCESSING file to finish.
 */
export async function openForGeneration(ctx: FilesContext, project: string, ref: string): Promise<OpenedFile> {
  const id = parseFileRef(ref);
  if (id === undefined)
    throw invalidArgument(
      `Unsupported file URI ${JSON.stringify(ref)}: use the uri of a file uploaded to this server's Files API (files/{id}).`,
    );
  let rec = await getFile(ctx, project, id);
  if (rec.state === 'PROCESSING') {
    await settled(ctx, rec);
    rec = await getFile(ctx, project, id);
  }
  if (rec.state !== 'ACTIVE' || !rec.blobKey)
    throw failedPrecondition(`The File ${id} is not in an ACTIVE state and usage is not allowed.`);
  return {
    name: `files/${id}`,
    mimeType: rec.mimeType,
    path: await ctx.blobs.localPath(rec.blobKey),
    sha256Hex: rec.sha256Hex,
    sizeBytes: rec.sizeBytes,
  };
}
