/**
 * PgMetaStore against real PostgreSQL 15 (started by the scale globalSetup): the shared
 * MetaStore contract, each test on its own fresh database; and the migrations, applied once
 * when three "replicas" migrate the same database at the same moment.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS } from '../../src/db/migrations.js';
import { createPool } from '../../src/db/pool.js';
import { PgMetaStore } from '../../src/files/pg-meta.js';
import { freshDatabase } from '../support/scale/context.js';
import { describeMetaStore } from './store-contract.js';

describeMetaStore('PostgreSQL', async () => {
  const pool = createPool(await freshDatabase('meta'));
  await migrate(pool);
  return {
    store: new PgMetaStore(pool),
    cleanup: () => pool.end(),
  };
});

describe('PostgreSQL migrations', () => {
  it('three replicas migrating at once apply each version exactly once', async () => {
    const url = await freshDatabase('migrate');
    const pools = [createPool(url), createPool(url), createPool(url)];
    try {
      const reports = await Promise.all(pools.map((p) => migrate(p)));
      const applied = reports.flatMap((r) => r.applied).sort((a, b) => a - b);
      expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
      expect(reports.filter((r) => r.applied.length > 0)).toHaveLength(1);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      await client.end();
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      // A restart finds nothing to do.
      expect((await migrate(pools[0]!)).applied).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
