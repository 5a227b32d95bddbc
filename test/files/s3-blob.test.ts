/**
 * S3BlobStore against a real S3 server (OpenStack Swift + s3api, started by the scale
 * globalSetup): the shared BlobStore contract, then what only S3 has: chunks of 5 MiB and
 * more copied server-side, small chunks merged into ≥ 5 MiB parts, and multipart uploads
 * left by an interrupted completion listed for the sweeper and aborted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIN_PART, S3BlobStore } from '../../src/files/s3-blob.js';
import { freshPrefix, scaleServers } from '../support/scale/context.js';
import { s3Client } from '../support/scale/swift.js';
import { describeBlobStore } from './store-contract.js';

function openStore(prefix = freshPrefix('blobs')) {
  const { s3 } = scaleServers();
  const client = s3Client(s3);
  const localDir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-s3-test-'));
  const store = new S3BlobStore({ client, bucket: s3.bucket, prefix, localDir });
  return {
    client,
    store,
    prefix,
    cleanup() {
      client.destroy();
      rmSync(localDir, { recursive: true, force: true });
    },
  };
}

describeBlobStore('S3 (Swift s3api)', async () => {
  const h = openStore();
  return { store: h.store, cleanup: h.cleanup };
});

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  // In 1 MiB pieces, as an HTTP body arrives.
  for (let i = 0; i < bytes.length; i += 1 << 20) yield bytes.subarray(i, i + (1 << 20));
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('S3BlobStore on S3 specifics', () => {
  const opened: Array<ReturnType<typeof openStore>> = [];
  afterAll(() => opened.forEach((h) => h.cleanup()));

  it('assembles big chunks (server-side copies) and small ones (merged to ≥ 5 MiB parts) into one object', async () => {
    const h = openStore();
    opened.push(h);
    const up = `s-${randomBytes(8).toString('hex')}`;
    // 1 MiB, 1 MiB, 6 MiB, 3 MiB, 8 MiB, 100 KiB: small runs, a big chunk after small ones, a small last part.
    const sizes = [1 << 20, 1 << 20, 6 << 20, 3 << 20, 8 << 20, 100 << 10];
    const chunks = sizes.map((n) => randomBytes(n));
    await h.store.startUpload(up);
    let offset = 0;
    for (const c of chunks) {
      expect(await h.store.writePart(up, offset, once(c))).toEqual({ offset, size: c.length });
      offset += c.length;
    }
    expect(await h.store.uploadedSize(up)).toBe(offset);
    const blob = randomBytes(16).toString('hex');
    expect(await h.store.completeUpload(up, blob)).toMatchObject({ key: blob, size: offset });
    const whole = Buffer.concat(chunks);
    expect(sha(await readFile(await h.store.localPath(blob)))).toBe(sha(whole));
    expect(await h.store.size(blob)).toBe(offset);
    // Nothing of the upload is left behind.
    expect(await h.store.uploadedSize(up)).toBeUndefined();
    expect((await h.store.listUploads(Date.now() + 60_000)).map((u) => u.key)).not.toContain(up);
    expect(MIN_PART).toBe(5 << 20);
  });

  it('lists a multipart upload left by an interrupted completion and aborts it', async () => {
    const h = openStore();
    opened.push(h);
    const { s3 } = scaleServers();
    const blob = randomBytes(16).toString('hex');
    const Key = `${h.prefix}/blobs/${blob}`;
    const { UploadId } = await h.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key }));
    const stale = (await h.store.listUploads(Date.now() + 60_000)).find((u) => u.key.startsWith(`mpu-${blob}~`));
    expect(stale).toBeDefined();
    expect((await h.store.listUploads(Date.now() - 3_600_000)).map((u) => u.key)).not.toContain(stale!.key);
    await h.store.abortUpload(stale!.key);
    const left = await h.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: Key }));
    expect((left.Uploads ?? []).map((u) => u.UploadId)).not.toContain(UploadId);
    await h.store.abortUpload(stale!.key); // already gone: no error
  });
});
