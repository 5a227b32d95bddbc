/**
 * The key store in the replicas' shared PostgreSQL (`--database-url`): one table, so a key
 * made or revoked through any replica or `ocellus keys` is seen by all of them within the
 * lookup cache's half second. The table is made on first open, under an advisory lock so
 * replicas starting together do not race on it.
 */
import type { Pool } from '../db/pool.js';
import { KeyNameTaken, keyFromRow as toKey, type KeyRow as Row, type KeyStore } from './store.js';


const SCHEMA = `
  CREATE TABLE IF NOT EXISTS ocellus_api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    rpm INTEGER,
    storage_bytes BIGINT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
  );
  CREATE UNIQUE INDEX IF NOT EXISTS ocellus_api_keys_live_name ON ocellus_api_keys(name) WHERE revoked_at IS NULL;
`;

/** `pool` is the replica's (src/db): the store does not end it. */
export async function openPostgresKeyStore(pool: Pool): Promise<KeyStore> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('ocellus_api_keys'))");
    await client.query(SCHEMA);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  return {
    async insert(k) {
      try {
        const { rows } = await pool.query<Row>(
          'INSERT INTO ocellus_api_keys (id, name, hash, prefix, rpm, storage_bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *',
          [k.id, k.name, k.hash, k.prefix, k.rpm ?? null, k.storageBytes ?? null, k.createdAt],
        );
        return toKey(rows[0]!);
      } catch (err) {
        if ((err as { code?: string; constraint?: string }).code === '23505' && /name/.test(String((err as { constraint?: string }).constraint)))
          throw new KeyNameTaken(k.name);
        throw err;
      }
    },
    async list() {
      return (await pool.query<Row>('SELECT * FROM ocellus_api_keys ORDER BY created_at, id')).rows.map(toKey);
    },
    async revoke(idOrName, now) {
      const { rows } = await pool.query<Row>(
        'UPDATE ocellus_api_keys SET revoked_at = $2 WHERE id = (SELECT id FROM ocellus_api_keys WHERE (id = $1 OR name = $1) AND revoked_at IS NULL ORDER BY created_at LIMIT 1) RETURNING *',
        [idOrName, now],
      );
      return rows[0] ? toKey(rows[0]) : undefined;
    },
    async findLive(hash) {
      const { rows } = await pool.query<Row>('SELECT * FROM ocellus_api_keys WHERE hash = $1 AND revoked_at IS NULL', [hash]);
      return rows[0] ? toKey(rows[0]) : undefined;
    },
    async any() {
      return (await pool.query('SELECT 1 FROM ocellus_api_keys LIMIT 1')).rowCount! > 0;
    },
    async close() {},
  };
}
