/**
 * The contract every MetaStore and BlobStore implementation keeps (src/files/store.ts):
 * one suite, run against each real implementation (SQLite + file system here, PostgreSQL
 * + S3 in the scale-out tests). Concurrency cases fire their calls together with
 * Promise.all: on a single-process store they pass trivially, on a shared database they
 * are the proof that the check and the write are one atomic step.
 *
 * Usage: `describeMetaStore('sqlite', async () => ({ store, cleanup }))` inside a test file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { BlobStore, MetaStore, NewFileRecord, UploadSession } from '../../src/files/store.js';

export interface StoreHandle<S> {
  store: S;
  /** Closes the store and removes what it created. */
  cleanup(): Promise<void> | void;
}

export type StoreFactory<S> = () => Promise<StoreHandle<S>>;

const HOUR = 3_600_000;
const T0 = 1_700_000_000_000;

/** Per-test stores, cleaned up after each test; each test gets a fresh, empty store. */
function fresh<S>(factory: StoreFactory<S>): () => Promise<S> {
  const open: Array<StoreHandle<S>> = [];
  afterEach(async () => {
    for (const h of open.splice(0)) await h.cleanup();
  });
  return async () => {
    const h = await factory();
    open.push(h);
    return h.store;
  };
}

let counter = 0;
const unique = (prefix: string): string => `${prefix}${(++counter).toString(36)}${randomBytes(3).toString('hex')}`;

export function fileRecord(project: string, id: string, over: Partial<NewFileRecord> = {}): NewFileRecord {
  return {
    project,
    id,
    displayName: undefined,
    mimeType: 'image/png',
    sizeBytes: 100,
    sha256Hex: 'ab'.repeat(32),
    blobKey: randomBytes(16).toString('hex'),
    state: 'PROCESSING',
    errorMessage: undefined,
    createTime: T0,
    updateTime: T0,
    expirationTime: T0 + 48 * HOUR,
    ...over,
  };
}

export function uploadSession(project: string, fileId: string, over: Partial<UploadSession> = {}): UploadSession {
  const key = createHash('sha256').update(unique('upload')).digest('hex');
  return {
    key,
    project,
    fileId,
    displayName: undefined,
    mimeType: 'image/png',
    declaredSize: undefined,
    uploadKey: `s-${key.slice(0, 40)}`,
    receivedBytes: 0,
    createTime: T0,
    expirationTime: T0 + 24 * HOUR,
    finalSize: undefined,
    ...over,
  };
}

const quota = (quotaBytes: number, extraBytes = 0) => ({ now: T0, quotaBytes, extraBytes });
const BIG = Number.MAX_SAFE_INTEGER;

export function describeMetaStore(name: string, factory: StoreFactory<MetaStore>): void {
  describe(`MetaStore contract: ${name}`, () => {
    const open = fresh(factory);

    it('inserts, gets, updates and deletes a file; seq tells incarnations apart', async () => {
      const m = await open();
      const p = unique('p');
      const ins = await m.insertFile(fileRecord(p, 'a', { displayName: 'cat' }), quota(BIG));
      expect(ins.ok).toBe(true);
      if (!ins.ok) return;
      expect(ins.value).toMatchObject({ project: p, id: 'a', displayName: 'cat', sizeBytes: 100, state: 'PROCESSING' });
      expect(await m.getFile(p, 'a')).toEqual(ins.value);
      expect(await m.getFile(unique('other'), 'a')).toBeUndefined();
      expect(await m.updateFile(p, 'a', { state: 'ACTIVE' }, ins.value.seq + 1000)).toBeUndefined();
      const upd = await m.updateFile(p, 'a', { state: 'FAILED', errorMessage: 'bad', updateTime: T0 + 1 }, ins.value.seq);
      expect(upd).toMatchObject({ state: 'FAILED', errorMessage: 'bad', updateTime: T0 + 1, mimeType: 'image/png' });
      expect(await m.updateFile(p, 'a', { errorMessage: undefined })).toMatchObject({ errorMessage: undefined });
      expect(await m.hasBlobKey(ins.value.blobKey!)).toBe(true);
      expect(await m.deleteFile(p, 'a', ins.value.seq + 1000)).toBeUndefined();
      expect(await m.deleteFile(p, 'a', ins.value.seq)).toMatchObject({ id: 'a' });
      expect(await m.getFile(p, 'a')).toBeUndefined();
      expect(await m.deleteFile(p, 'a')).toBeUndefined();
      expect(await m.hasBlobKey(ins.value.blobKey!)).toBe(false);
    });

    it('lists live files newest first, page by page with the seq cursor', async () => {
      const m = await open();
      const p = unique('p');
      for (let i = 0; i < 5; i++) await m.insertFile(fileRecord(p, `f${i}`), quota(BIG));
      await m.insertFile(fileRecord(p, 'old', { expirationTime: T0 + 10 }), quota(BIG));
      await m.insertFile(fileRecord(unique('q'), 'f9'), quota(BIG));
      const seen: string[] = [];
      let after: number | undefined;
      let pages = 0;
      do {
        const page = await m.listFiles(p, T0 + 100, 2, after);
        seen.push(...page.files.map((f) => f.id));
        after = page.nextAfter;
        pages++;
      } while (after !== undefined && pages < 10);
      expect(seen).toEqual(['f4', 'f3', 'f2', 'f1', 'f0']);
      expect(pages).toBe(3);
      expect((await m.listFiles(unique('empty'), T0, 10)).files).toEqual([]);
    });

    it('refuses an id held by a live file or an open session, and reclaims an expired one', async () => {
      const m = await open();
      const p = unique('p');
      expect((await m.insertFile(fileRecord(p, 'a'), quota(BIG))).ok).toBe(true);
      expect(await m.insertFile(fileRecord(p, 'a'), quota(BIG))).toEqual({ ok: false, reason: 'id-taken' });
      expect(await m.idTaken(p, 'a', T0)).toBe(true);
      expect(await m.idTaken(p, 'b', T0)).toBe(false);
      const s = uploadSession(p, 'b');
      expect((await m.insertSession(s, quota(BIG))).ok).toBe(true);
      expect(await m.idTaken(p, 'b', T0)).toBe(true);
      expect(await m.insertFile(fileRecord(p, 'b'), quota(BIG))).toEqual({ ok: false, reason: 'id-taken' });
      expect(await m.insertSession(uploadSession(p, 'a'), quota(BIG))).toEqual({ ok: false, reason: 'id-taken' });
      // An expired row is invisible to the id check and removed by the insert that reuses the id.
      const old = await m.insertFile(fileRecord(p, 'c', { expirationTime: T0 - 1 }), quota(BIG));
      const again = await m.insertFile(fileRecord(p, 'c'), quota(BIG));
      expect(again.ok && old.ok && again.reclaimed?.seq === old.value.seq).toBe(true);
      expect((await m.getFile(p, 'c'))?.seq).toBe(again.ok ? again.value.seq : -1);
    });

    it('enforces the project quota in the insert: files, declared sessions, received bytes, extra bytes', async () => {
      const m = await open();
      const p = unique('p');
      expect((await m.insertFile(fileRecord(p, 'a', { sizeBytes: 600 }), quota(1000))).ok).toBe(true);
      expect(await m.insertFile(fileRecord(p, 'b', { sizeBytes: 500 }), quota(1000))).toEqual({ ok: false, reason: 'quota' });
      expect(await m.insertFile(fileRecord(p, 'b', { sizeBytes: 300 }), quota(1000, 200))).toEqual({ ok: false, reason: 'quota' });
      expect((await m.insertFile(fileRecord(p, 'b', { sizeBytes: 500 }), undefined)).ok).toBe(true);
      expect(await m.usedBytes(p, T0)).toBe(1100);
      const q = unique('q');
      expect(await m.insertSession(uploadSession(q, 's1', { declaredSize: 1001 }), quota(1000))).toEqual({ ok: false, reason: 'quota' });
      expect((await m.insertSession(uploadSession(q, 's1', { declaredSize: 700 }), quota(1000))).ok).toBe(true);
      expect(await m.usedBytes(q, T0)).toBe(700);
      // An undeclared session reserves what it has received.
      const open2 = uploadSession(q, 's2');
      expect((await m.insertSession(open2, quota(1000))).ok).toBe(true);
      expect((await m.beginChunk(open2.key, 'w', T0, 60_000)).ok).toBe(true);
      expect(await m.endChunk(open2.key, 'w', 0, 250)).toBe(true);
      expect(await m.usedBytes(q, T0)).toBe(950);
      expect(await m.insertFile(fileRecord(q, 'x', { sizeBytes: 51 }), quota(1000))).toEqual({ ok: false, reason: 'quota' });
      // Expired files and sessions hold nothing.
      expect(await m.usedBytes(q, T0 + 25 * HOUR)).toBe(0);
    });

    it('concurrent inserts against one quota: exactly as many as fit succeed', async () => {
      const m = await open();
      const p = unique('p');
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => m.insertFile(fileRecord(p, `c${i}`, { sizeBytes: 100 }), quota(350))),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(3);
      expect(await m.usedBytes(p, T0)).toBe(300);
      const same = await Promise.all(Array.from({ length: 5 }, () => m.insertFile(fileRecord(p, 'dup', { sizeBytes: 1 }), quota(BIG))));
      expect(same.filter((r) => r.ok)).toHaveLength(1);
    });

    it('chunk offsets move by compare-and-set under one writer lease', async () => {
      const m = await open();
      const p = unique('p');
      const s = uploadSession(p, 'up');
      await m.insertSession(s, quota(BIG));
      expect(await m.getSession(s.key)).toEqual(s);
      const a = await m.beginChunk(s.key, 'A', T0, 60_000);
      expect(a).toMatchObject({ ok: true, session: { receivedBytes: 0 } });
      expect(await m.beginChunk(s.key, 'B', T0 + 1, 60_000)).toMatchObject({ ok: false, reason: 'busy' });
      expect(await m.endChunk(s.key, 'A', 5, 10)).toBe(false);
      expect(await m.endChunk(s.key, 'B', 0, 10)).toBe(false);
      expect(await m.endChunk(s.key, 'A', 0, 10)).toBe(true);
      expect((await m.getSession(s.key))?.receivedBytes).toBe(10);
      // The lease was released: B may write now; a lease left by a dead writer expires.
      expect(await m.beginChunk(s.key, 'B', T0 + 2, 1000)).toMatchObject({ ok: true, session: { receivedBytes: 10 } });
      expect(await m.beginChunk(s.key, 'A', T0 + 500, 60_000)).toMatchObject({ ok: false, reason: 'busy' });
      expect(await m.beginChunk(s.key, 'A', T0 + 1003, 60_000)).toMatchObject({ ok: true });
      expect(await m.endChunk(s.key, 'B', 10, 20)).toBe(false);
      await m.releaseChunk(s.key, 'A');
      expect((await m.getSession(s.key))?.receivedBytes).toBe(10);
      expect(await m.beginChunk(unique('nokey'), 'A', T0, 1000)).toEqual({ ok: false, reason: 'missing' });
      expect(await m.beginChunk(s.key, 'A', T0 + 25 * HOUR, 1000)).toEqual({ ok: false, reason: 'missing' });
    });

    it('concurrent writers: exactly one gets the lease', async () => {
      const m = await open();
      const s = uploadSession(unique('p'), 'race');
      await m.insertSession(s, quota(BIG));
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => m.beginChunk(s.key, `w${i}`, T0, 60_000)));
      expect(claims.filter((c) => c.ok)).toHaveLength(1);
    });

    it('finalises a session once: the file appears, the session stays as a final tombstone', async () => {
      const m = await open();
      const p = unique('p');
      const s = uploadSession(p, 'fin', { declaredSize: 30 });
      await m.insertSession(s, quota(BIG));
      const rec = fileRecord(p, 'fin', { sizeBytes: 30 });
      expect(await m.finalizeSession(s.key, 'A', rec, T0)).toEqual({ ok: false, reason: 'not-holder' });
      expect((await m.beginChunk(s.key, 'A', T0, 60_000)).ok).toBe(true);
      const done = await m.finalizeSession(s.key, 'A', rec, T0);
      expect(done).toMatchObject({ ok: true, file: { id: 'fin', sizeBytes: 30 } });
      expect(await m.getSession(s.key)).toMatchObject({ finalSize: 30, receivedBytes: 30 });
      expect(await m.finalizeSession(s.key, 'A', rec, T0)).toEqual({ ok: false, reason: 'final' });
      expect(await m.beginChunk(s.key, 'A', T0, 60_000)).toMatchObject({ ok: false, reason: 'final' });
      // The bytes are counted once: as the file, no longer as the session's reservation.
      expect(await m.usedBytes(p, T0)).toBe(30);
      expect(await m.finalizeSession(unique('none'), 'A', rec, T0)).toEqual({ ok: false, reason: 'missing' });
    });

    it('an expired session can be neither written nor finalised once another file took its id', async () => {
      const m = await open();
      const p = unique('p');
      const s = uploadSession(p, 'late', { expirationTime: T0 + 10 });
      await m.insertSession(s, quota(BIG));
      // After the session's expiry the id is free again and someone takes it…
      const later = { now: T0 + 20, quotaBytes: BIG };
      expect((await m.insertFile(fileRecord(p, 'late', { createTime: T0 + 20 }), later)).ok).toBe(true);
      // …and the expired session can neither be written nor finalised.
      expect(await m.beginChunk(s.key, 'A', T0 + 20, 1000)).toEqual({ ok: false, reason: 'missing' });
      expect(await m.finalizeSession(s.key, 'A', fileRecord(p, 'late'), T0 + 20)).toEqual({ ok: false, reason: 'missing' });
    });

    it('deletes sessions; knows upload keys; hands back expired files and sessions', async () => {
      const m = await open();
      const p = unique('p');
      const s = uploadSession(p, 'gone', { expirationTime: T0 + 5 });
      await m.insertSession(s, quota(BIG));
      expect(await m.hasUploadKey(s.uploadKey)).toBe(true);
      const f = await m.insertFile(fileRecord(p, 'exp', { expirationTime: T0 + 5 }), quota(BIG));
      await m.insertFile(fileRecord(p, 'live'), quota(BIG));
      expect((await m.expiredFiles(T0 + 10, 100)).map((r) => r.id)).toContain('exp');
      expect((await m.expiredFiles(T0 + 10, 100)).map((r) => r.id)).not.toContain('live');
      expect((await m.expiredSessions(T0 + 10, 100)).map((r) => r.key)).toContain(s.key);
      expect((await m.expiredSessions(T0, 100)).map((r) => r.key)).not.toContain(s.key);
      expect(await m.deleteFile(p, 'exp', f.ok ? f.value.seq : -1)).toMatchObject({ id: 'exp' });
      expect(await m.deleteSession(s.key)).toBe(true);
      expect(await m.deleteSession(s.key)).toBe(false);
      expect(await m.getSession(s.key)).toBeUndefined();
      expect(await m.hasUploadKey(s.uploadKey)).toBe(false);
      const ids = (await m.filesInState('PROCESSING', 1000)).filter((r) => r.project === p).map((r) => r.id);
      expect(ids).toEqual(['live']);
    });

    it('one sweep lease holder at a time; renewable by the holder; taken over after it lapses', async () => {
      const m = await open();
      const a = unique('A');
      const b = unique('B');
      expect(await m.tryAcquireSweepLease(a, T0, 1000)).toBe(true);
      expect(await m.tryAcquireSweepLease(b, T0 + 1, 1000)).toBe(false);
      expect(await m.tryAcquireSweepLease(a, T0 + 500, 1000)).toBe(true);
      expect(await m.tryAcquireSweepLease(b, T0 + 1200, 1000)).toBe(false);
      expect(await m.tryAcquireSweepLease(b, T0 + 1501, 1000)).toBe(true);
      await m.releaseSweepLease(a);
      expect(await m.tryAcquireSweepLease(a, T0 + 1600, 1000)).toBe(false);
      await m.releaseSweepLease(b);
      const race = await Promise.all([a, b, unique('C'), unique('D')].map((h) => m.tryAcquireSweepLease(h, T0 + 1700, 1000)));
      expect(race.filter(Boolean)).toHaveLength(1);
    });
  });
}

async function* pieces(...chunks: Array<Uint8Array | Error>): AsyncGenerator<Uint8Array> {
  for (const c of chunks) {
    if (c instanceof Error) throw c;
    yield c;
    await new Promise((r) => setImmediate(r));
  }
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(out);
}

const hexKey = (): string => randomBytes(16).toString('hex');

export function describeBlobStore(name: string, factory: StoreFactory<BlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    const open = fresh(factory);

    it('start → parts → complete: the object is the parts in order', async () => {
      const b = await open();
      const up = `s-${hexKey()}`;
      const blob = hexKey();
      const one = randomBytes(3000);
      const two = randomBytes(1234);
      await b.startUpload(up);
      await b.startUpload(up); // idempotent
      expect(await b.uploadedSize(up)).toBe(0);
      expect(await b.writePart(up, 0, pieces(one.subarray(0, 1000), one.subarray(1000)))).toEqual({ offset: 0, size: 3000 });
      expect(await b.uploadedSize(up)).toBe(3000);
      expect(await b.writePart(up, 3000, pieces(two))).toEqual({ offset: 3000, size: 1234 });
      expect(await b.uploadedSize(up)).toBe(4234);
      const done = await b.completeUpload(up, blob);
      expect(done).toMatchObject({ key: blob, size: 4234 });
      expect(await b.uploadedSize(up)).toBeUndefined();
      expect(await b.size(blob)).toBe(4234);
      expect(await readAll(b.get(blob))).toEqual(Buffer.concat([one, two]));
      expect(await readAll(b.get(blob, { start: 2990, end: 3009 }))).toEqual(Buffer.concat([one, two]).subarray(2990, 3010));
      expect(await readFile(await b.localPath(blob))).toEqual(Buffer.concat([one, two]));
    });

    it('rewriting from a part start replaces it and drops later parts; discardFrom cuts back', async () => {
      const b = await open();
      const up = `s-${hexKey()}`;
      await b.startUpload(up);
      await b.writePart(up, 0, pieces(Buffer.from('aaaa')));
      await b.writePart(up, 4, pieces(Buffer.from('bbbb')));
      await b.writePart(up, 8, pieces(Buffer.from('cccc')));
      await b.writePart(up, 4, pieces(Buffer.from('BB')));
      expect(await b.uploadedSize(up)).toBe(6);
      await b.writePart(up, 6, pieces(Buffer.from('dd')));
      await b.discardFrom(up, 6);
      expect(await b.uploadedSize(up)).toBe(6);
      await expect(b.writePart(up, 7, pieces(Buffer.from('x')))).rejects.toThrow();
      const blob = hexKey();
      await b.completeUpload(up, blob);
      expect((await readAll(b.get(blob))).toString()).toBe('aaaaBB');
    });

    it('a body that fails midway rejects with its error; the upload resumes from uploadedSize', async () => {
      const b = await open();
      const up = `s-${hexKey()}`;
      const bytes = randomBytes(5000);
      await b.startUpload(up);
      await b.writePart(up, 0, pieces(bytes.subarray(0, 1000)));
      const boom = new Error('client went away');
      await expect(b.writePart(up, 1000, pieces(bytes.subarray(1000, 2000), bytes.subarray(2000, 3000), boom))).rejects.toBe(boom);
      const kept = (await b.uploadedSize(up))!;
      // What stays is a prefix of what was sent: none of the failed part, or what arrived of it.
      expect(kept).toBeGreaterThanOrEqual(1000);
      expect(kept).toBeLessThanOrEqual(3000);
      await b.writePart(up, kept, pieces(bytes.subarray(kept)));
      const blob = hexKey();
      await b.completeUpload(up, blob);
      expect(await readAll(b.get(blob))).toEqual(bytes);
    });

    it('abort drops an upload; writing to an unknown upload fails; uploads and objects are listed by age', async () => {
      const b = await open();
      const up = `s-${hexKey()}`;
      const other = `t-${hexKey()}`;
      await b.startUpload(up);
      await b.startUpload(other);
      await b.writePart(other, 0, pieces(Buffer.from('x')));
      const later = Date.now() + 60_000;
      const listed = (await b.listUploads(later)).map((o) => o.key);
      expect(listed).toEqual(expect.arrayContaining([up, other]));
      expect((await b.listUploads(Date.now() - HOUR)).map((o) => o.key)).not.toContain(up);
      await b.abortUpload(up);
      await b.abortUpload(up); // no error when gone
      expect(await b.uploadedSize(up)).toBeUndefined();
      expect((await b.listUploads(later)).map((o) => o.key)).not.toContain(up);
      await expect(b.writePart(up, 0, pieces(Buffer.from('x')))).rejects.toThrow();
      const blob = hexKey();
      await b.completeUpload(other, blob);
      expect((await b.list(later)).map((o) => o.key)).toContain(blob);
      expect((await b.list(Date.now() - HOUR)).map((o) => o.key)).not.toContain(blob);
      await b.delete(blob);
      await b.delete(blob);
      expect(await b.size(blob)).toBeUndefined();
      expect((await b.list(later)).map((o) => o.key)).not.toContain(blob);
    });

    it('an empty upload completes as an empty object', async () => {
      const b = await open();
      const up = `s-${hexKey()}`;
      await b.startUpload(up);
      const blob = hexKey();
      expect(await b.completeUpload(up, blob)).toMatchObject({ size: 0 });
      expect((await readAll(b.get(blob))).length).toBe(0);
    });
  });
}
