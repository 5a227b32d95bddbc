/**
 * Single-request uploads (multipart and raw): the route pushes the body's bytes as they
 * arrive, they stream into one BlobStore upload (one part), and `finish` completes it and
 * records the file, atomically checking the name and the project quota.
 */
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { alreadyExists, fileQuotaExceeded } from '../errors.js';
import {
  addStreaming,
  dropReclaimed,
  generatedId,
  newRecord,
  randomKey,
  resolveMetadata,
  type FilesContext,
} from './context.js';
import { diskFull, isDiskFull, RECHECK_BYTES } from './disk-space.js';
import { processFile } from './lifecycle.js';
import type { FileRecord } from './store.js';
import { storing, tooLarge } from './upload-errors.js';
import type { FileMetadataInput } from './wire.js';

/** A single-request (multipart or raw) upload in progress. */
export interface SingleUpload {
  readonly received: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Commits the bytes as a new file and waits for it to be processed. */
  finish(metadata: FileMetadataInput): Promise<FileRecord>;
  /** Drops the bytes; safe to call more than once and after finish. */
  abort(): Promise<void>;
}

export interface BeginUploadOptions {
  /** Content-Length of the request, when known: checked against the limits before any byte. */
  contentLength?: number | undefined;
  /** A multipart body carries a little more than the file: this much is allowed for it. */
  framingBytes?: number | undefined;
}

const asServerError = (err: unknown): unknown => (isDiskFull(err) ? diskFull() : err);

export async function beginSingleUpload(ctx: FilesContext, project: string, opts?: BeginUploadOptions): Promise<SingleUpload> {
  const { blobs, meta, limits } = ctx;
  const contentLength = opts?.contentLength;
  if (contentLength !== undefined && contentLength > limits.fileBytes + (opts?.framingBytes ?? 0))
    throw tooLarge(contentLength, limits.fileBytes);
  await ctx.disk.ensure(contentLength ?? 0);
  const uploadKey = `t-${randomKey()}`;
  ctx.activeTemps.add(uploadKey);
  try {
    await storing(blobs.startUpload(uploadKey));
  } catch (err) {
    ctx.activeTemps.delete(uploadKey);
    throw err;
  }
  // The project's stored bytes, read at the start and again every few MiB (not per network
  // chunk: on a shared database that would be a query per 64 KiB).
  let usedBytes = await meta.usedBytes(project, ctx.clock());
  const body = new PassThrough();
  let failure: unknown;
  const part = blobs.writePart(uploadKey, 0, body).then(
    () => undefined,
    (err: unknown) => void (failure = err ?? new Error('upload failed')),
  );
  const hash = createHash('sha256');
  let received = 0;
  let sinceCheck = 0;
  let done = false;

  const overQuota = (extra: number): boolean =>
    usedBytes + (ctx.streaming.get(project) ?? 0) + extra > limits.projectBytes;
  const release = (): void => {
    if (done) return;
    done = true;
    addStreaming(ctx, project, -received);
    ctx.activeTemps.delete(uploadKey);
  };

  const upload: SingleUpload = {
    get received() {
      return received;
    },

    async write(chunk) {
      if (done) throw new Error('upload already finished');
      if (failure) throw asServerError(failure);
      if (chunk.length === 0) return;
      if (received + chunk.length > limits.fileBytes) throw tooLarge(received + chunk.length, limits.fileBytes);
      if ((sinceCheck += chunk.length) >= RECHECK_BYTES) {
        sinceCheck = 0;
        await ctx.disk.ensure(chunk.length);
        usedBytes = await meta.usedBytes(project, ctx.clock());
      }
      if (overQuota(chunk.length)) throw fileQuotaExceeded(limits.projectBytes);
      hash.update(chunk);
      received += chunk.length;
      addStreaming(ctx, project, chunk.length);
      if (!body.write(chunk)) await Promise.race([once(body, 'drain'), part]);
      if (failure) throw asServerError(failure);
    },

    async finish(metadata) {
      try {
        let r = await resolveMetadata(ctx, project, metadata);
        body.end();
        await part;
        if (failure) throw failure;
        const blobKey = randomKey();
        ctx.committing.add(blobKey);
        let rec: FileRecord;
        try {
          await blobs.completeUpload(uploadKey, blobKey);
          const sha256Hex = hash.digest('hex');
          for (;;) {
            // Our own bytes are counted in `streaming`; the check is that the others still fit.
            const others = (ctx.streaming.get(project) ?? 0) - received;
            let out;
            try {
              out = await meta.insertFile(newRecord(ctx, project, r, received, sha256Hex, blobKey), {
                now: ctx.clock(),
                quotaBytes: limits.projectBytes,
                extraBytes: others,
              });
            } catch (err) {
              await blobs.delete(blobKey);
              throw err;
            }
            if (out.ok) {
              rec = out.value;
              dropReclaimed(ctx, out.reclaimed);
              break;
            }
            if (out.reason === 'id-taken' && generatedId(metadata)) {
              r = await resolveMetadata(ctx, project, metadata);
              continue;
            }
            await blobs.delete(blobKey);
            throw out.reason === 'quota' ? fileQuotaExceeded(limits.projectBytes) : alreadyExists(`File files/${r.id} already exists.`);
          }
        } finally {
          ctx.committing.delete(blobKey);
        }
        release();
        return await processFile(ctx, rec);
      } catch (err) {
        await upload.abort();
        throw asServerError(err);
      }
    },

    async abort() {
      release();
      if (!body.writableEnded) body.destroy();
      await part;
      await blobs.abortUpload(uploadKey);
    },
  };
  return upload;
}
