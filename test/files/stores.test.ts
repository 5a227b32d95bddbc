/**
 * The embedded stores (SQLite metadata, file-system bytes) against the shared store
 * contract; the PostgreSQL and S3 stores run the same suite.
 */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/files/fs-blob.js';
import { openSqliteMetaStore, SCHEMA_VERSION } from '../../src/files/sqlite-meta.js';
import { describeBlobStore, describeMetaStore } from './store-contract.js';
import { tempDir } from './helpers.js';

describeMetaStore('SQLite', async () => {
  const dir = tempDir();
  const store = openSqliteMetaStore(dir);
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeBlobStore('file system', async () => {
  const dir = tempDir();
  return { store: new FsBlobStore(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
});

describe('SQLite schema', () => {
  it('migrates forward once and reopens at the same version', async () => {
    const dir = tempDir();
    try {
      const first = openSqliteMetaStore(dir);
      await first.close();
      const again = openSqliteMetaStore(dir);
      const row = (again.tables as unknown as { db: { prepare(sql: string): { get(): { version: number } } } }).db
        .prepare("SELECT version FROM schema_version WHERE component = 'files'")
        .get();
      expect(row.version).toBe(SCHEMA_VERSION);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQLite durability', () => {
  it('syncs file records and finalisation (synchronous FULL), and only the chunk lease and offset go unsynced', async () => {
    const dir = tempDir();
    const store = openSqliteMetaStore(dir);
    const db = (store.tables as unknown as { db: { pragma(p: string, o: { simple: true }): number } }).db;
    const synchronous = () => db.pragma('synchronous', { simple: true });
    const FULL = 2;
    try {
      expect(synchronous()).toBe(FULL);
      const now = Date.now();
      const session = { key: 'a'.repeat(64), project: 'p', fileId: 'f', displayName: undefined, mimeType: 'image/png', declaredSize: undefined, uploadKey: 's-a', receivedBytes: 0, createTime: now, expirationTime: now + 60_000, finalSize: undefined };
      expect((await store.insertSession(session, { now, quotaBytes: 1e9 })).ok).toBe(true);
      expect((await store.beginChunk(session.key, 'h', now, 30_000)).ok).toBe(true);
      expect(synchronous()).toBe(FULL);
      expect(await store.endChunk(session.key, 'h', 0, 10)).toBe(true);
      await store.releaseChunk(session.key, 'h');
      expect(synchronous()).toBe(FULL);
      // A statement that throws still leaves the connection at FULL.
      const broken = store.tables as unknown as { stmt: { releaseWriter: { run(): never } } };
      const real = broken.stmt.releaseWriter;
      broken.stmt.releaseWriter = { run: () => { throw new Error('disk I/O error'); } };
      await expect(store.releaseChunk(session.key, 'h')).rejects.toThrow(/disk I\/O/);
      broken.stmt.releaseWriter = real;
      expect(synchronous()).toBe(FULL);
      expect(await store.getSession(session.key)).toMatchObject({ receivedBytes: 10 });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
