/**
 * The key store in the data dir (`keys.sqlite`), shared by the server and the `ocellus keys`
 * command: WAL mode, so the command can write while the server reads, and the server sees a
 * revocation on its next lookup.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { KeyNameTaken, keyFromRow as toKey, type KeyRow as Row, type KeyStore } from './store.js';


export const KEYS_FILE = 'keys.sqlite';

export function openSqliteKeyStore(dataDir: string): KeyStore {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, KEYS_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS api_keys (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      hash TEXT NOT NULL UNIQUE,
      prefix TEXT NOT NULL,
      rpm INTEGER,
      storage_bytes INTEGER,
      created_at INTEGER NOT NULL,
      revoked_at INTEGER
    );
    CREATE UNIQUE INDEX IF NOT EXISTS api_keys_live_name ON api_keys(name) WHERE revoked_at IS NULL;
  `);
  const insert = db.prepare(
    'INSERT INTO api_keys (id, name, hash, prefix, rpm, storage_bytes, created_at) VALUES (@id, @name, @hash, @prefix, @rpm, @storageBytes, @createdAt)',
  );
  const byId = db.prepare<[string], Row>('SELECT * FROM api_keys WHERE id = ?');
  const all = db.prepare<[], Row>('SELECT * FROM api_keys ORDER BY created_at, id');
  const live = db.prepare<[string], Row>('SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL');
  const liveByIdOrName = db.prepare<[string, string], Row>('SELECT * FROM api_keys WHERE (id = ? OR name = ?) AND revoked_at IS NULL');
  const revoke = db.prepare<[number, string]>('UPDATE api_keys SET revoked_at = ? WHERE id = ?');
  const anyKey = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM api_keys');
  return {
    async insert(k) {
      try {
        insert.run({ ...k, rpm: k.rpm ?? null, storageBytes: k.storageBytes ?? null });
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && /name/.test((err as Error).message)) throw new KeyNameTaken(k.name);
        throw err;
      }
      return toKey(byId.get(k.id)!);
    },
    async list() {
      return all.all().map(toKey);
    },
    async revoke(idOrName, now) {
      const row = liveByIdOrName.get(idOrName, idOrName);
      if (!row) return undefined;
      revoke.run(now, row.id);
      return toKey(byId.get(row.id)!);
    },
    async findLive(hash) {
      const row = live.get(hash);
      return row ? toKey(row) : undefined;
    },
    async any() {
      return (anyKey.get()?.n ?? 0) > 0;
    },
    async close() {
      db.close();
    },
  };
}
