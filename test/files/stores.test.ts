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
