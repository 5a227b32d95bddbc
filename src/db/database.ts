/**
 * Opens the shared database of a replica: the pool, then the migrations (under the advisory
 * lock, so replicas starting together migrate once). The pool is handed to every store that
 * keeps state there (file metadata, rate counters).
 */
import type { Logger } from 'pino';
import { migrate } from './migrations.js';
import { createPool, type Pool } from './pool.js';

export interface Database {
  pool: Pool;
  close(): Promise<void>;
}

export async function openDatabase(url: string, logger: Logger): Promise<Database> {
  const pool = createPool(url, { onIdleError: (err) => logger.warn({ err: err.message }, 'database connection lost (idle); it is replaced on next use') });
  try {
    const report = await migrate(pool);
    if (report.applied.length > 0) logger.info({ applied: report.applied, version: report.version }, 'database migrated');
    else logger.info({ version: report.version }, 'database schema up to date');
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  return { pool, close: () => pool.end() };
}
