/** The JobStore contract on PostgreSQL 15 (started by the scale globalSetup), each test on a fresh database. */
import { PgJobStore } from '../../src/batch/pg-store.js';
import { migrate } from '../../src/db/migrations.js';
import { createPool } from '../../src/db/pool.js';
import { freshDatabase } from '../support/scale/context.js';
import { describeJobStore } from '../batch/store-contract.js';

describeJobStore('PostgreSQL', async () => {
  const pool = createPool(await freshDatabase('jobs'));
  await migrate(pool);
  return { store: new PgJobStore(pool), cleanup: () => pool.end() };
});
