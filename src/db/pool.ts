/**
 * The PostgreSQL connection pool of one replica (`--database-url`). BIGINT columns (epoch
 * milliseconds, byte counts) come back as JS numbers: every value we store is far below
 * 2^53, and pg's default (strings) would leak into every row mapping.
 */
import pg from 'pg';

pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  /** Connections this replica may hold; PostgreSQL's default max_connections (100) is shared by all replicas. */
  max?: number;
  /** Called for errors of idle connections (a restarted server); without a listener pg would crash the process. */
  onIdleError?: (err: Error) => void;
}

export function createPool(url: string, opts: PoolOptions = {}): Pool {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, connectionTimeoutMillis: 10_000 });
  pool.on('error', (err) => opts.onIdleError?.(err));
  return pool;
}

/** Runs `fn` in one transaction on one connection; rolls back when it throws. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
