/**
 * Gemini's resumable upload protocol over the stores: `start` opens a session (its id is
 * the upload URL's credential; only its hash is stored), each chunk becomes a part of the
 * BlobStore upload, `upload, finalize` completes the object and records the file.
 *
 * Any replica may take any request of a session: the MetaStore's writer lease admits one
 * chunk at a time, the offset moves by compare-and-set, and finalisation happens once. A
 * writer killed mid-chunk leaves its lease to lapse; the next writer takes the BlobStore's
 * byte count as the truth. The running SHA-256 is this process's shortcut: when it did not
 * see every byte (another replica wrote some, or it restarted), the hash is computed from
 * the completed object instead.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { alreadyExists, ApiError, fileNotAccessible, fileQuotaExceeded, invalidArgument } from '../errors.js';
import {
  addStreaming,
  dropReclaimed,
  generatedId,
  hashBlob,
  newRecord,
  randomKey,
  resolveMetadata,
  visible,
  type FilesContext,
} from './context.js';
import { diskFull, isDiskFull, RECHECK_BYTES } from './disk-space.js';
import { processFile, settled } from './lifecycle.js';
import type { FileRecord, UploadSession } from './store.js';
import {
  finalizedCannotCancel,
  finalizedTakesNoBytes,
  offsetMismatch,
  RejectedChunkError,
  storing,
  TerminalUploadError,
  tooLarge,
  uploadBusy,
  uploadNotFound,
  withUploadState,
} from './upload-errors.js';
import { cleanMimeType, type FileMetadataInput } from './wire.js';

export interface StartUploadInput {
  metadata: FileMetadataInput;
  /** X-Goog-Upload-Header-Content-Length; falls back to metadata.sizeBytes. */
  declaredSize?: number | undefined;
  /** X-Goog-Upload-Header-Content-Type; the metadata's mimeType wins. */
  mimeType?: string | undefined;
}

export interface ChunkInput {
  /** X-Goog-Upload-Offset; when absent the bytes are appended at the current end. */
  offset?: number | undefined;
  finalize: boolean;
  /** The request body, streamed (a Readable or any async iterable of bytes). */
  body: AsyncIterable<Uint8Array>;
  /** Content-Length of the body when known: lets limits be checked before reading. */
  contentLength?: number | undefined;
}

export type UploadStatus = { status: 'active'; received: number } | { status: 'final'; received: number; file: FileRecord };

export interface ResumableUploads {
  start(project: string, input: StartUploadInput): Promise<{ uploadId: string; session: UploadSession }>;
  chunk(uploadId: string, chunk: ChunkInput): Promise<UploadStatus>;
  query(uploadId: string): Promise<{ status: 'active' | 'final'; received: number }>;
  cancel(uploadId: string): Promise<void>;
  /** Whether this process is working on the session now (the sweeper leaves it be). */
  isBusy(sessionKey: string): boolean;
}

/**
 * A chunk's writer lease. Short, so a replica killed mid-chunk blocks the upload elsewhere for
 * at most this long (the client's retry after 503 then resumes on any replica); renewed every
 * third of it while the chunk streams or completes, so a slow chunk keeps it however long it takes.
 */
export const CHUNK_LEASE_MS = 30_000;

/** This process's running hash of a session, valid while `size` matches the stored bytes. */
interface Continuity {
  size: number;
  hash: Hash | undefined;
}

export const sessionKeyOf = (uploadId: string): string => createHash('sha256').update(uploadId).digest('hex');

export function createResumableUploads(ctx: FilesContext): ResumableUploads {
  const { meta, blobs, limits } = ctx;
  const continuity = new Map<string, Continuity>();
  /** Requests of one session run one at a time in this process (the lease orders replicas). */
  const queues = new Map<string, { tail: Promise<unknown>; busy: number }>();

  function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const q = queues.get(key) ?? { tail: Promise.resolve(), busy: 0 };
    queues.set(key, q);
    q.busy++;
    const run = q.tail.then(fn);
    q.tail = run
      .catch(() => undefined)
      .finally(() => {
        if (--q.busy === 0) queues.delete(key);
      });
    return run;
  }

  async function dropSession(row: UploadSession): Promise<void> {
    continuity.delete(row.key);
    await meta.deleteSession(row.key);
    await blobs.abortUpload(row.uploadKey);
  }

  async function finalStatus(row: UploadSession): Promise<UploadStatus> {
    const rec = await visible(ctx, row.project, row.fileId);
    if (!rec) throw fileNotAccessible(row.fileId);
    const file = await settled(ctx, rec);
    return { status: 'final', received: row.finalSize ?? file.sizeBytes, file };
  }

  /**
   * A chunk for an upload that is already final. A retry of the final chunk (its response
   * was lost: same end offset, with finalize) answers the file again; anything else would
   * be bytes silently dropped, so it is refused.
   */
  function chunkAfterFinal(row: UploadSession, chunk: ChunkInput): Promise<UploadStatus> {
    const final = row.finalSize ?? 0;
    const len = chunk.contentLength;
    const retry =
      chunk.finalize &&
      len !== undefined &&
      (chunk.offset === undefined ? len === 0 : chunk.offset + len === final && chunk.offset <= final);
    if (retry) return finalStatus(row);
    throw finalizedTakesNoBytes(row.fileId, final);
  }

  async function writeChunk(key: string, chunk: ChunkInput): Promise<UploadStatus | { finalize: FileRecord }> {
    const claim = await meta.beginChunk(key, ctx.holder, ctx.clock(), CHUNK_LEASE_MS);
    if (!claim.ok) {
      if (claim.reason === 'final') return chunkAfterFinal(claim.session, chunk);
      if (claim.reason === 'busy') throw uploadBusy(claim.session.receivedBytes);
      continuity.delete(key);
      throw uploadNotFound();
    }
    const row = claim.session;
    let leased = true;
    let lost = false;
    // Real-time renewal: covers gaps between pieces and a long completion (S3 copies parts).
    const heartbeat = setInterval(() => {
      if (!leased) return;
      meta
        .beginChunk(key, ctx.holder, ctx.clock(), CHUNK_LEASE_MS)
        .then((renewed) => {
          if (!renewed.ok) lost = true;
        })
        .catch((err: unknown) => ctx.logger.warn({ err }, 'could not renew an upload lease'));
    }, CHUNK_LEASE_MS / 3);
    heartbeat.unref();
    let cont: Continuity | undefined;
    try {
      let stored = await blobs.uploadedSize(row.uploadKey);
      if (stored === undefined) {
        await storing(blobs.startUpload(row.uploadKey));
        stored = 0;
      }
      cont = continuity.get(key);
      // A replica that wrote chunks meanwhile, or a restart: the stored bytes are the truth.
      if (!cont || cont.size !== stored) cont = { size: stored, hash: stored === 0 ? createHash('sha256') : undefined };
      continuity.set(key, cont);
      const c = cont;
      if (chunk.offset !== undefined && chunk.offset !== stored) throw offsetMismatch(chunk.offset, stored);
      // Where this chunk started: a refused chunk is cut back to here.
      const before = { size: stored, hash: c.hash?.copy() };
      const overDeclared = (size: number): ApiError | undefined =>
        row.declaredSize !== undefined && size > row.declaredSize
          ? invalidArgument(
              `The chunk would take the upload to ${size} bytes, past the declared X-Goog-Upload-Header-Content-Length (${row.declaredSize}). The chunk was not stored; the upload keeps its first ${before.size} bytes.`,
            )
          : undefined;
      // An undeclared upload reserves its bytes as they arrive: the project's rows (less this
      // session's own), what this process streams for others, and this chunk so far.
      const usedByOthers =
        row.declaredSize === undefined ? (await meta.usedBytes(row.project, ctx.clock())) - row.receivedBytes : 0;
      let ours = 0;
      const limitFor = (size: number): ApiError | undefined => {
        if (size > limits.fileBytes) return tooLarge(size, limits.fileBytes);
        if (
          row.declaredSize === undefined &&
          usedByOthers + ((ctx.streaming.get(row.project) ?? 0) - ours) + size > limits.projectBytes
        )
          return fileQuotaExceeded(limits.projectBytes);
        return undefined;
      };
      let leaseFrom = ctx.clock();
      async function* checked(): AsyncGenerator<Uint8Array> {
        let sinceDiskCheck = 0;
        for await (const piece of chunk.body) {
          if (piece.length === 0) continue;
          if (lost) throw uploadBusy(c.size);
          if (ctx.clock() - leaseFrom > CHUNK_LEASE_MS / 3) {
            // A slow chunk keeps its lease; if another writer took the session meanwhile, stop.
            leaseFrom = ctx.clock();
            const renewed = await meta.beginChunk(key, ctx.holder, leaseFrom, CHUNK_LEASE_MS);
            if (!renewed.ok) throw uploadBusy(c.size);
          }
          const over = overDeclared(c.size + piece.length);
          if (over) throw new RejectedChunkError(over);
          const err = limitFor(c.size + piece.length);
          if (err) throw new TerminalUploadError(err);
          if ((sinceDiskCheck += piece.length) >= RECHECK_BYTES) {
            sinceDiskCheck = 0;
            await ctx.disk.ensure(piece.length);
          }
          yield piece;
          // The store asked for the next piece: this one is written.
          c.hash?.update(piece);
          c.size += piece.length;
          if (row.declaredSize === undefined) {
            ours += piece.length;
            addStreaming(ctx, row.project, piece.length);
          }
        }
      }
      try {
        if (chunk.contentLength !== undefined) {
          const over = overDeclared(stored + chunk.contentLength);
          if (over) throw new RejectedChunkError(over);
          const early = limitFor(stored + chunk.contentLength);
          if (early) throw new TerminalUploadError(early);
        }
        await ctx.disk.ensure(chunk.contentLength ?? 0);
        // A bare `finalize` (no bytes) adds no part: an empty part is a request too many on S3.
        if (chunk.contentLength !== 0) await blobs.writePart(row.uploadKey, stored, checked());
      } catch (err) {
        if (err instanceof RejectedChunkError) {
          if (c.size !== before.size) await blobs.discardFrom(row.uploadKey, before.size);
          c.size = before.size;
          c.hash = before.hash;
        } else {
          // Whatever made it (a client that went away mid-chunk) stays; the client queries and resumes.
          const now = (await blobs.uploadedSize(row.uploadKey).catch(() => undefined)) ?? c.size;
          if (now !== c.size) Object.assign(c, { size: now, hash: undefined });
        }
        throw err;
      } finally {
        if (ours > 0) addStreaming(ctx, row.project, -ours);
      }

      if (!chunk.finalize) {
        leased = false;
        if (!(await meta.endChunk(key, ctx.holder, row.receivedBytes, c.size))) throw uploadNotFound();
        return { status: 'active', received: c.size };
      }
      if (row.declaredSize !== undefined && c.size !== row.declaredSize)
        throw new TerminalUploadError(
          invalidArgument(`The upload has ${c.size} bytes but X-Goog-Upload-Header-Content-Length declared ${row.declaredSize}.`),
        );
      // Commit: join the parts into place, then record the file and mark the session final.
      const blobKey = randomKey();
      ctx.committing.add(blobKey);
      try {
        const done = await blobs.completeUpload(row.uploadKey, blobKey);
        continuity.delete(key);
        const sha256Hex = c.hash && c.size === done.size ? c.hash.digest('hex') : await hashBlob(blobs, blobKey);
        const record = newRecord(
          ctx,
          row.project,
          {
            id: row.fileId,
            ...(row.displayName ? { displayName: row.displayName } : {}),
            ...(row.mimeType ? { mimeType: row.mimeType } : {}),
          },
          done.size,
          sha256Hex,
          blobKey,
        );
        leased = false;
        let out;
        try {
          out = await meta.finalizeSession(key, ctx.holder, record, ctx.clock());
        } catch (err) {
          await blobs.delete(blobKey).catch(() => undefined);
          throw isDiskFull(err) ? new TerminalUploadError(diskFull()) : err;
        }
        if (!out.ok) {
          await blobs.delete(blobKey);
          if (out.reason === 'id-taken') throw new TerminalUploadError(alreadyExists(`File files/${row.fileId} already exists.`));
          throw uploadNotFound();
        }
        dropReclaimed(ctx, out.reclaimed);
        return { finalize: out.file };
      } finally {
        ctx.committing.delete(blobKey);
      }
    } catch (err) {
      if (err instanceof TerminalUploadError) {
        await dropSession(row);
        throw err.apiError;
      }
      if (isDiskFull(err)) {
        // A full disk: the upload goes at once (not at the session's expiry), so the space
        // comes back now; the client starts again later.
        await dropSession(row);
        throw diskFull();
      }
      if (err instanceof RejectedChunkError) throw withUploadState(err.apiError, cont?.size ?? row.receivedBytes);
      if (err instanceof ApiError && err.httpStatus === 503) throw withUploadState(err, cont?.size ?? row.receivedBytes);
      throw err;
    } finally {
      clearInterval(heartbeat);
      // Records where the bytes end now (a failed chunk may have kept some) and frees the lease.
      if (leased)
        await meta
          .endChunk(key, ctx.holder, row.receivedBytes, cont?.size ?? row.receivedBytes)
          .then((moved) => (moved ? undefined : meta.releaseChunk(key, ctx.holder)))
          .catch((err) => ctx.logger.warn({ err }, 'could not release an upload lease'));
    }
  }

  return {
    async start(project, input) {
      const declared = input.declaredSize ?? input.metadata.sizeBytes;
      for (;;) {
        const r = await resolveMetadata(ctx, project, input.metadata);
        if (declared !== undefined && declared > limits.fileBytes) throw tooLarge(declared, limits.fileBytes, true);
        const uploadId = randomBytes(24).toString('base64url');
        const key = sessionKeyOf(uploadId);
        const now = ctx.clock();
        const session: UploadSession = {
          key,
          project,
          fileId: r.id,
          displayName: r.displayName,
          mimeType: r.mimeType ?? cleanMimeType(input.mimeType),
          declaredSize: declared,
          uploadKey: `s-${key.slice(0, 40)}`,
          receivedBytes: 0,
          createTime: now,
          expirationTime: now + limits.uploadSessionTtlMs,
          finalSize: undefined,
        };
        const out = await storing(
          meta.insertSession(session, { now, quotaBytes: limits.projectBytes, extraBytes: ctx.streaming.get(project) ?? 0 }),
        );
        if (out.ok) {
          dropReclaimed(ctx, out.reclaimed);
          try {
            await storing(blobs.startUpload(session.uploadKey));
          } catch (err) {
            await meta.deleteSession(key).catch(() => undefined);
            throw err;
          }
          return { uploadId, session };
        }
        if (out.reason === 'quota') throw fileQuotaExceeded(limits.projectBytes);
        if (!generatedId(input.metadata)) throw alreadyExists(`File files/${r.id} already exists.`);
      }
    },

    async chunk(uploadId, chunk) {
      const key = sessionKeyOf(uploadId);
      const result = await serialised(key, () => writeChunk(key, chunk));
      if ('finalize' in result) {
        const file = await processFile(ctx, result.finalize);
        return { status: 'final', received: file.sizeBytes, file };
      }
      return result;
    },

    async query(uploadId) {
      const row = await meta.getSession(sessionKeyOf(uploadId));
      if (!row || row.expirationTime <= ctx.clock()) throw uploadNotFound();
      if (row.finalSize !== undefined) return { status: 'final', received: row.finalSize };
      return { status: 'active', received: (await blobs.uploadedSize(row.uploadKey)) ?? row.receivedBytes };
    },

    cancel(uploadId) {
      const key = sessionKeyOf(uploadId);
      return serialised(key, async () => {
        const row = await meta.getSession(key);
        if (!row || row.expirationTime <= ctx.clock()) throw uploadNotFound();
        if (row.finalSize !== undefined) throw finalizedCannotCancel();
        await dropSession(row);
      });
    },

    isBusy: (key) => (queues.get(key)?.busy ?? 0) > 0,
  };
}
