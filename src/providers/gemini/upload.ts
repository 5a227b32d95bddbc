/**
 * A stored file sent to upstream Gemini with the resumable protocol (client/resumable-upload.ts),
 * every byte streamed from disk in one `upload, finalize` request, so a large file is never
 * held in memory and costs one round trip.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { StoredImageFile } from '../../seam/files.js';
import type { GeminiClient } from './client/client.js';
import type { UpstreamFile } from './file-mirror.js';

export { onUpstreamOrigin } from './upstream-client.js';

export async function uploadStoredFile(client: GeminiClient, file: StoredImageFile): Promise<UpstreamFile> {
  const size = (await stat(file.path)).size;
  const up = await client.uploadFile(
    {
      size,
      read: async (offset, length) =>
        length === 0 ? new Uint8Array(0) : (Readable.toWeb(createReadStream(file.path, { start: offset, end: offset + length - 1 })) as ReadableStream<Uint8Array>),
    },
    { mimeType: file.mimeType, displayName: `ocellus ${file.name}`.slice(0, 512), chunkBytes: Number.POSITIVE_INFINITY },
  );
  return { name: up.name, uri: up.uri, mimeType: up.mimeType, ...(up.expirationTime ? { expirationTime: up.expirationTime } : {}) };
}
