/**
 * The Files API adapted to the narrow interface batch mode needs (src/batch/ports.ts):
 * the one place that knows both sides, used by the composition root.
 */
import type { Readable } from 'node:stream';
import type { BatchFiles } from '../batch/ports.js';
import { failedPrecondition } from '../errors.js';
import type { FilesService } from '../files/service.js';

/**
 * The Files API as batch mode needs it (src/batch/ports.ts), over the public FilesService
 * plus the one read of stored bytes it lacks: an uploaded JSONL input is kept FAILED for
 * generation (not an image) but its bytes are the batch's input; a responses file is
 * written as an ordinary upload and then marked ACTIVE (it is not an image either, and it
 * is meant to be downloaded, not generated from).
 */
export interface FileStateWriter {
  updateFile(project: string, id: string, patch: { state: 'ACTIVE'; mimeType: string; errorMessage: undefined; updateTime: number }): unknown;
}
export function batchFilesOf(files: FilesService, blobs: object, meta: FileStateWriter): BatchFiles {
  // The Files stores are being restructured (readBlob → get); read through either shape.
  const read = blobs as unknown as { get?: (key: string) => Readable; readBlob?: (key: string) => Readable };
  const bytesOf = (blobKey: string): Readable => (read.get ? read.get.call(blobs, blobKey) : read.readBlob!.call(blobs, blobKey));
  const stored = async (project: string, id: string) => {
    const rec = await files.get(project, id);
    if (!rec.blobKey) throw failedPrecondition(`The File ${id} has no content.`);
    return { rec, blobKey: rec.blobKey };
  };
  const exists = async (project: string, id: string) => {
    try {
      await files.get(project, id);
      return true;
    } catch {
      return false;
    }
  };
  return {
    async readInput(project, fileName) {
      const { blobKey } = await stored(project, fileName.replace(/^files\//, ''));
      const chunks: Buffer[] = [];
      for await (const chunk of bytesOf(blobKey)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    async createGenerated(project, fileId, displayName, mimeType, bytes) {
      // Idempotent: a finalisation repeated after a restart finds the file it wrote.
      if (!(await exists(project, fileId))) {
        const upload = await files.beginUpload(project, { contentLength: bytes.length });
        try {
          await upload.write(bytes);
          await upload.finish({ name: `files/${fileId}`, displayName, mimeType });
        } finally {
          await upload.abort();
        }
      }
      await meta.updateFile(project, fileId, { state: 'ACTIVE', mimeType, errorMessage: undefined, updateTime: Date.now() });
      return `files/${fileId}`;
    },
    async open(project, fileId) {
      const { rec, blobKey } = await stored(project, fileId);
      return { stream: bytesOf(blobKey), sizeBytes: rec.sizeBytes, mimeType: rec.mimeType };
    },
  };
}
