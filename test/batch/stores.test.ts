/** The JobStore contract on the embedded SQLite store (PostgreSQL: test/scale/batch-store.test.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteJobStore } from '../../src/batch/sqlite-store.js';
import { describeJobStore } from './store-contract.js';

describeJobStore('SQLite', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-jobstore-'));
  const store = openSqliteJobStore(dir);
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
