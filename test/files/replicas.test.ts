/**
 * Two Files services sharing one metadata store and one byte store, as two replicas would
 * (here: two SQLite connections on one data dir, two file-system stores on it). What keeps
 * them consistent is the store seam alone: the writer lease, the offset compare-and-set,
 * finalize-once and the sweep lease. The PostgreSQL/S3 suite runs the same flows across
 * processes.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { FsBlobStore } from '../../src/files/fs-blob.js';
import { CHUNK_LEASE_MS, sessionKeyOf } from '../../src/files/resumable.js';
import { createFilesService, type FilesService } from '../../src/files/service.js';
import { openSqliteMetaStore, type SqliteMetaStore } from '../../src/files/sqlite-meta.js';
import { noisePng, removeDir, sniffInspect, tempDir } from './helpers.js';

const PROJECT = 'replicas';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const body = (...parts: Uint8Array[]) => Readable.from(parts.map((p) => Buffer.from(p)));

interface Replica {
  files: FilesService;
  meta: SqliteMetaStore;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function cluster(n: number, clock: () => number): { dataDir: string; replicas: Replica[] } {
  const dataDir = tempDir();
  cleanups.push(() => removeDir(dataDir));
  const limits = loadConfig({ dataDir }, {}).limits;
  const replicas = Array.from({ length: n }, (_, i) => {
    const meta = openSqliteMetaStore(dataDir);
    const files = createFilesService({
      blobs: new FsBlobStore(dataDir),
      meta,
      limits,
      clock,
      inspect: sniffInspect,
      logger: pino({ level: 'silent' }),
      orphanGraceMs: 0,
      holder: `replica-${i}`,
    });
    cleanups.push(async () => {
      await files.stop();
      await meta.close();
    });
    return { files, meta };
  });
  return { dataDir, replicas };
}

describe('two replicas on one store', () => {
  it('an upload started on A takes chunks on B and A and is finalised on B; both see the file', async () => {
    const [a, b] = cluster(2, Date.now).replicas as [Replica, Replica];
    const png = await noisePng(120, 100);
    const { uploadId } = await a.files.startResumable(PROJECT, {
      metadata: { displayName: 'across', mimeType: 'image/png' },
      declaredSize: png.length,
    });
    const c = (offset: number, end: number, finalize = false) => ({
      offset,
      finalize,
      body: body(png.subarray(offset, end)),
      contentLength: end - offset,
    });
    expect(await b.files.uploadChunk(uploadId, c(0, 4000))).toEqual({ status: 'active', received: 4000 });
    expect(await a.files.uploadChunk(uploadId, c(4000, 9000))).toEqual({ status: 'active', received: 9000 });
    expect(await a.files.queryUpload(uploadId)).toEqual({ status: 'active', received: 9000 });
    const fin = await b.files.uploadChunk(uploadId, c(9000, png.length, true));
    expect(fin.status).toBe('final');
    if (fin.status !== 'final') return;
    expect(fin.file).toMatchObject({ state: 'ACTIVE', sizeBytes: png.length, sha256Hex: sha(png), displayName: 'across' });
    expect(await a.files.get(PROJECT, fin.file.id)).toMatchObject({ state: 'ACTIVE', sha256Hex: sha(png) });
    // The same final chunk retried on A (its answer was lost) answers the file again.
    const again = await a.files.uploadChunk(uploadId, c(9000, png.length, true));
    expect(again).toMatchObject({ status: 'final', file: { id: fin.file.id } });
    await a.files.delete(PROJECT, fin.file.id);
    await expect(b.files.get(PROJECT, fin.file.id)).rejects.toMatchObject({ httpStatus: 403 });
  });

  it('two replicas writing one session at once: one chunk is taken, the other refused with the upload state', async () => {
    const [a, b] = cluster(2, Date.now).replicas as [Replica, Replica];
    const { uploadId } = await a.files.startResumable(PROJECT, { metadata: {} });
    const bytes = Buffer.alloc(3000, 7);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A's chunk holds the session's writer lease until the gate opens.
    const slow = a.files.uploadChunk(uploadId, {
      offset: 0,
      finalize: false,
      body: (async function* () {
        yield bytes.subarray(0, 1000);
        await gate;
        yield bytes.subarray(1000);
      })(),
    });
    await new Promise((r) => setTimeout(r, 50));
    const busy = await b.files.uploadChunk(uploadId, { offset: 0, finalize: false, body: body(bytes) }).catch((e: unknown) => e);
    expect(busy).toMatchObject({ httpStatus: 503, headers: { 'X-Goog-Upload-Status': 'active' } });
    release();
    expect(await slow).toEqual({ status: 'active', received: 3000 });
    expect(await b.files.queryUpload(uploadId)).toEqual({ status: 'active', received: 3000 });
  });

  it('a slow chunk renews its writer lease: another replica is still refused after the first lease would have lapsed', async () => {
    let now = Date.now();
    const [a, b] = cluster(2, () => now).replicas as [Replica, Replica];
    const { uploadId } = await a.files.startResumable(PROJECT, { metadata: {} });
    const piece = Buffer.alloc(1000, 3);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = a.files.uploadChunk(uploadId, {
      offset: 0,
      finalize: false,
      body: (async function* () {
        yield piece;
        now += CHUNK_LEASE_MS / 2; // past a third of the lease: the next piece renews it
        yield piece;
        await gate;
        yield piece;
      })(),
    });
    await new Promise((r) => setTimeout(r, 50));
    now += CHUNK_LEASE_MS * 0.7; // 1.2 leases after the start: the first lease alone would have lapsed
    const refused = await b.files.uploadChunk(uploadId, { offset: 0, finalize: false, body: body(piece) }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ httpStatus: 503 });
    release();
    expect(await slow).toEqual({ status: 'active', received: 3000 });
  });

  it('a writer that died mid-chunk: its lease lapses, another replica resumes from the bytes stored, sha256 right', async () => {
    let now = Date.now();
    const { dataDir, replicas } = cluster(2, () => now);
    const [a, b] = replicas as [Replica, Replica];
    const png = await noisePng(90, 90);
    const { uploadId, session } = await a.files.startResumable(PROJECT, { metadata: { mimeType: 'image/png' }, declaredSize: png.length });
    // Replica A "crashes" mid-chunk: it holds the lease and 5000 bytes reached the store.
    const key = sessionKeyOf(uploadId);
    expect((await a.meta.beginChunk(key, 'crashed-replica', now, 10 * 60_000)).ok).toBe(true);
    await new FsBlobStore(dataDir).writePart(session.uploadKey, 0, body(png.subarray(0, 5000)));
    const early = await b.files.uploadChunk(uploadId, { offset: 5000, finalize: false, body: body(png.subarray(5000, 6000)) }).catch((e) => e);
    expect(early).toMatchObject({ httpStatus: 503 });
    now += 10 * 60_000 + 1;
    expect(await b.files.queryUpload(uploadId)).toEqual({ status: 'active', received: 5000 });
    const fin = await b.files.uploadChunk(uploadId, {
      offset: 5000,
      finalize: true,
      body: body(png.subarray(5000)),
      contentLength: png.length - 5000,
    });
    expect(fin).toMatchObject({ status: 'final', file: { state: 'ACTIVE', sizeBytes: png.length, sha256Hex: sha(png) } });
  });

  it('both replicas sweep at once: the expired file is deleted once, by the lease holder', async () => {
    let now = Date.now();
    const [a, b] = cluster(2, () => now).replicas as [Replica, Replica];
    const png = await noisePng(20, 20);
    const up = await a.files.beginUpload(PROJECT, { contentLength: png.length });
    await up.write(png);
    const rec = await up.finish({ name: 'expiring', mimeType: 'image/png' });
    await up.abort();
    now += 49 * 3600_000;
    const reports = await Promise.all([a.files.sweep(), b.files.sweep()]);
    expect(reports.map((r) => r.files).sort()).toEqual([0, 1]);
    expect(await a.meta.getFile(PROJECT, rec.id)).toBeUndefined();
  });
});
