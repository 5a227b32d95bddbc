/**
 * BlobStore on an S3-compatible object store (`--storage-url s3://BUCKET/PREFIX?…`), shared
 * by every replica. Layout under the prefix:
 *
 *   uploads/<uploadKey>/.start            marker: the upload exists (any replica can see it)
 *   uploads/<uploadKey>/<offset, 16 digits> one staging object per part (resumable chunk)
 *   blobs/<blobKey>                        committed objects
 *
 * Why staging objects: S3 multipart parts must be ≥ 5 MiB except the last, while Gemini
 * clients send chunks of any size, and an unfinished multipart part cannot be read back to
 * be merged or cut. So each chunk is written whole as its own object (readable, replaceable,
 * listable from any replica: the listing *is* the upload's state), and completion assembles
 * the committed object as one multipart upload: runs of ≥ 5 MiB are copied server-side
 * (UploadPartCopy, no bytes through Ocellus; the SDKs' 8 MiB chunks all go this way), and
 * smaller chunks are merged through this process into parts of 5 MiB (at most 5 MiB held in
 * memory). A chunk body is spooled to a local temp file first, because S3 needs its length
 * before the PUT; a body that fails midway leaves no part (the client resumes at the end of
 * the previous one). Multipart uploads left by a replica killed mid-completion are listed by
 * `listUploads` under an `mpu-` key, and the sweeper's `abortUpload` aborts them.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type _Object,
} from '@aws-sdk/client-s3';
import type { BlobStore, StoredObject, UploadPart } from './store.js';

/** S3's smallest part (except the last). */
export const MIN_PART = 5 * 1024 * 1024;
const KEY = /^[a-z0-9][a-z0-9-]{0,127}$/;
const MPU = /^mpu-([a-z0-9][a-z0-9-]{0,127})~(.+)$/;

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix (no leading or trailing slash); '' for the bucket's root. */
  prefix: string;
  /** Local directory for chunk spool files and the decoder's object cache. */
  localDir: string;
  /** Most bytes of downloaded objects kept for decoders (least recently used go first). */
  cacheBytes?: number;
}

interface StagedPart {
  key: string;
  offset: number;
  size: number;
  mtimeMs: number;
}

const isMissing = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.name === 'NoSuchUpload' || e?.$metadata?.httpStatusCode === 404;
};

function checkKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`invalid storage key: ${JSON.stringify(key)}`);
  return key;
}

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly root: string;
  private readonly spoolDir: string;
  private readonly cacheDir: string;
  private readonly cacheBytes: number;

  constructor(opts: S3BlobStoreOptions) {
    this.client = opts.client;
    this.bucket = opts.bucket;
    this.root = opts.prefix ? `${opts.prefix}/` : '';
    this.spoolDir = path.join(opts.localDir, 's3-spool');
    this.cacheDir = path.join(opts.localDir, 's3-cache');
    this.cacheBytes = opts.cacheBytes ?? 1024 * 1024 * 1024;
    mkdirSync(this.spoolDir, { recursive: true });
    mkdirSync(this.cacheDir, { recursive: true });
  }

  private uploadPrefix(uploadKey: string): string {
    return `${this.root}uploads/${checkKey(uploadKey)}/`;
  }

  private blobObject(blobKey: string): string {
    return `${this.root}blobs/${checkKey(blobKey)}`;
  }

  private async listAll(prefix: string): Promise<_Object[]> {
    const out: _Object[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      out.push(...(page.Contents ?? []));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** The upload's parts in order (the chain from offset 0), or undefined when there is no upload. */
  private async parts(uploadKey: string): Promise<{ chain: StagedPart[]; stray: StagedPart[]; startMs: number } | undefined> {
    const prefix = this.uploadPrefix(uploadKey);
    const objects = await this.listAll(prefix);
    const marker = objects.find((o) => o.Key === `${prefix}.start`);
    if (!marker) return undefined;
    const staged = objects
      .filter((o) => /^\d{16}$/.test(o.Key!.slice(prefix.length)))
      .map((o) => ({ key: o.Key!, offset: Number(o.Key!.slice(prefix.length)), size: o.Size ?? 0, mtimeMs: o.LastModified?.getTime() ?? 0 }))
      .sort((a, b) => a.offset - b.offset);
    const chain: StagedPart[] = [];
    const stray: StagedPart[] = [];
    let end = 0;
    for (const p of staged) {
      if (p.offset === end && p.size > 0) {
        chain.push(p);
        end += p.size;
      } else stray.push(p); // left by a writer that died between its delete and its put
    }
    return { chain, stray, startMs: marker.LastModified?.getTime() ?? 0 };
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    // One DELETE each, a few at a time: every S3 implementation has it (multi-delete varies).
    for (let i = 0; i < keys.length; i += 8)
      await Promise.all(keys.slice(i, i + 8).map((Key) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }))));
  }

  async startUpload(uploadKey: string): Promise<void> {
    const marker = `${this.uploadPrefix(uploadKey)}.start`;
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: marker }));
    } catch (err) {
      if (!isMissing(err)) throw err;
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: marker, Body: '' }));
    }
  }

  async writePart(uploadKey: string, offset: number, body: AsyncIterable<Uint8Array>): Promise<UploadPart> {
    const state = await this.parts(uploadKey);
    if (!state) throw new Error(`no upload ${uploadKey}`);
    const end = state.chain.reduce((n, p) => n + p.size, 0);
    if (offset !== end && !state.chain.some((p) => p.offset === offset))
      throw new Error(`offset ${offset} is neither the end of upload ${uploadKey} (${end}) nor the start of one of its parts`);
    // Replacing a part drops it and every later one before the new bytes arrive.
    await this.deleteKeys([...state.chain, ...state.stray].filter((p) => p.offset >= offset).map((p) => p.key));
    const spool = path.join(this.spoolDir, `${uploadKey}-${randomBytes(6).toString('hex')}`);
    try {
      let size = 0;
      await pipeline(
        body,
        async function* (source: AsyncIterable<Uint8Array>) {
          for await (const chunk of source) {
            size += chunk.byteLength;
            yield chunk;
          }
        },
        createWriteStream(spool),
      );
      if (size > 0)
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: `${this.uploadPrefix(uploadKey)}${String(offset).padStart(16, '0')}`,
            Body: createReadStream(spool),
            ContentLength: size,
          }),
        );
      return { offset, size };
    } finally {
      await unlink(spool).catch(() => {});
    }
  }

  async uploadedSize(uploadKey: string): Promise<number | undefined> {
    const state = await this.parts(uploadKey);
    return state?.chain.reduce((n, p) => n + p.size, 0);
  }

  async discardFrom(uploadKey: string, offset: number): Promise<void> {
    const state = await this.parts(uploadKey);
    if (!state) return;
    const end = state.chain.reduce((n, p) => n + p.size, 0);
    if (offset !== end && !state.chain.some((p) => p.offset === offset))
      throw new Error(`offset ${offset} is neither the end of upload ${uploadKey} nor the start of one of its parts`);
    await this.deleteKeys([...state.chain, ...state.stray].filter((p) => p.offset >= offset).map((p) => p.key));
  }

  async completeUpload(uploadKey: string, blobKey: string): Promise<StoredObject> {
    const state = await this.parts(uploadKey);
    if (!state) throw new Error(`no upload ${uploadKey}`);
    const Key = this.blobObject(blobKey);
    const size = state.chain.reduce((n, p) => n + p.size, 0);
    if (size === 0) await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: '' }));
    else await this.assemble(state.chain, Key);
    await this.deleteKeys([...state.chain, ...state.stray].map((p) => p.key).concat(`${this.uploadPrefix(uploadKey)}.start`));
    return { key: blobKey, size, mtimeMs: Date.now() };
  }

  /** One multipart upload from the staged parts: big runs copied server-side, small ones merged here. */
  private async assemble(chain: StagedPart[], Key: string): Promise<void> {
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
    const done: CompletedPart[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      const PartNumber = done.length + 1;
      const r = await this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber, Body: Buffer.concat(pending), ContentLength: pendingBytes }),
      );
      done.push({ PartNumber, ETag: r.ETag! });
      pending = [];
      pendingBytes = 0;
    };
    try {
      for (const part of chain) {
        let pos = 0;
        while (pos < part.size) {
          if (pendingBytes === 0 && part.size - pos >= MIN_PART) {
            const PartNumber = done.length + 1;
            const r = await this.client.send(
              new UploadPartCopyCommand({
                Bucket: this.bucket,
                Key,
                UploadId,
                PartNumber,
                CopySource: `${this.bucket}/${part.key}`,
                CopySourceRange: `bytes=${pos}-${part.size - 1}`,
              }),
            );
            done.push({ PartNumber, ETag: r.CopyPartResult!.ETag! });
            pos = part.size;
            continue;
          }
          const n = Math.min(part.size - pos, MIN_PART - pendingBytes);
          const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: part.key, Range: `bytes=${pos}-${pos + n - 1}` }));
          const bytes = Buffer.from(await got.Body!.transformToByteArray());
          if (bytes.length !== n) throw new Error(`staged part ${part.key} returned ${bytes.length} bytes of ${n}`);
          pending.push(bytes);
          pendingBytes += n;
          pos += n;
          if (pendingBytes >= MIN_PART) await flush();
        }
      }
      if (pendingBytes > 0) await flush();
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: done } }));
    } catch (err) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => {});
      throw err;
    }
  }

  async abortUpload(uploadKey: string): Promise<void> {
    const mpu = MPU.exec(uploadKey);
    if (mpu) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.blobObject(mpu[1]!), UploadId: mpu[2]! }))
        .catch((err: unknown) => {
          if (!isMissing(err)) throw err;
        });
      return;
    }
    const objects = await this.listAll(this.uploadPrefix(uploadKey));
    await this.deleteKeys(objects.map((o) => o.Key!));
  }

  async listUploads(before: number): Promise<StoredObject[]> {
    const prefix = `${this.root}uploads/`;
    const byUpload = new Map<string, StoredObject>();
    for (const o of await this.listAll(prefix)) {
      const key = o.Key!.slice(prefix.length).split('/')[0]!;
      const entry = byUpload.get(key) ?? { key, size: 0, mtimeMs: 0 };
      entry.size += o.Size ?? 0;
      entry.mtimeMs = Math.max(entry.mtimeMs, o.LastModified?.getTime() ?? 0);
      byUpload.set(key, entry);
    }
    const out = [...byUpload.values()].filter((u) => u.mtimeMs < before);
    // Multipart uploads of committed objects that never completed (a replica died mid-assembly).
    const blobs = `${this.root}blobs/`;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: blobs, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of page.Uploads ?? []) {
        const started = u.Initiated?.getTime() ?? 0;
        if (started < before) out.push({ key: `mpu-${u.Key!.slice(blobs.length)}~${u.UploadId}`, size: 0, mtimeMs: started });
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return out;
  }

  get(blobKey: string, range?: { start: number; end: number }): Readable {
    const out = new PassThrough();
    this.client
      .send(new GetObjectCommand({ Bucket: this.bucket, Key: this.blobObject(blobKey), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }))
      .then((r) => pipeline(r.Body as Readable, out))
      .catch((err: unknown) => out.destroy(err as Error));
    return out;
  }

  async size(blobKey: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.blobObject(blobKey) }));
      return head.ContentLength;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async delete(blobKey: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.blobObject(blobKey) }));
    await unlink(path.join(this.cacheDir, blobKey)).catch(() => {});
  }

  async list(before: number): Promise<StoredObject[]> {
    const prefix = `${this.root}blobs/`;
    return (await this.listAll(prefix))
      .map((o) => ({ key: o.Key!.slice(prefix.length), size: o.Size ?? 0, mtimeMs: o.LastModified?.getTime() ?? 0 }))
      .filter((o) => o.mtimeMs < before);
  }

  /** Committed objects never change, so a downloaded copy stays valid until the object is deleted. */
  async localPath(blobKey: string): Promise<string> {
    const file = path.join(this.cacheDir, checkKey(blobKey));
    try {
      const now = new Date();
      await utimes(file, now, now); // recently used: evicted last
      return file;
    } catch {
      /* not cached yet */
    }
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.blobObject(blobKey) }));
      await pipeline(got.Body as Readable, createWriteStream(tmp));
      await rename(tmp, file);
    } finally {
      await unlink(tmp).catch(() => {});
    }
    await this.evict(file);
    return file;
  }

  /** Keeps the cache under its size: removes the least recently used copies (never `keep`). */
  private async evict(keep: string): Promise<void> {
    const names = (await readdir(this.cacheDir)).filter((n) => !n.endsWith('.tmp'));
    const files = await Promise.all(
      names.map(async (n) => {
        const p = path.join(this.cacheDir, n);
        const s = await stat(p).catch(() => undefined);
        return { p, size: s?.size ?? 0, used: s?.mtimeMs ?? 0 };
      }),
    );
    let total = files.reduce((n, f) => n + f.size, 0);
    for (const f of files.sort((a, b) => a.used - b.used)) {
      if (total <= this.cacheBytes) break;
      if (f.p === keep) continue;
      await unlink(f.p).catch(() => {});
      total -= f.size;
    }
  }
}
