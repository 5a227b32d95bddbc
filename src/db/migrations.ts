/**
 * Versioned schema migrations, applied at start. Several replicas may start at once: each
 * takes the same session-level advisory lock first, so exactly one applies what is missing
 * and the others, once they get the lock, find nothing left to do. Forward only; append new
 * versions, never edit a shipped one.
 */
import type { Pool } from './pool.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Arbitrary but fixed: the advisory-lock key every Ocellus replica migrates under. */
const MIGRATION_LOCK = 7_325_101_413;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'files and upload sessions',
    sql: `
    CREATE TABLE files (
      seq           BIGSERIAL PRIMARY KEY,
      project       TEXT    NOT NULL,
      id            TEXT    NOT NULL,
      display_name  TEXT,
      mime_type     TEXT    NOT NULL,
      size_bytes    BIGINT  NOT NULL,
      sha256        TEXT    NOT NULL,
      blob_key      TEXT,
      state         TEXT    NOT NULL,
      error_message TEXT,
      create_time   BIGINT  NOT NULL,
      update_time   BIGINT  NOT NULL,
      expire_time   BIGINT  NOT NULL,
      UNIQUE (project, id)
    );
    CREATE INDEX files_by_project ON files (project, seq);
    CREATE INDEX files_by_expiry ON files (expire_time);
    CREATE INDEX files_by_blob ON files (blob_key);
    CREATE INDEX files_by_state ON files (state);

    CREATE TABLE upload_sessions (
      key            TEXT    PRIMARY KEY,
      project        TEXT    NOT NULL,
      file_id        TEXT    NOT NULL,
      display_name   TEXT,
      mime_type      TEXT,
      declared_size  BIGINT,
      upload_key     TEXT    NOT NULL UNIQUE,
      received_bytes BIGINT  NOT NULL DEFAULT 0,
      writer         TEXT,
      writer_until   BIGINT,
      create_time    BIGINT  NOT NULL,
      expire_time    BIGINT  NOT NULL,
      final_size     BIGINT
    );
    CREATE INDEX sessions_by_project ON upload_sessions (project, file_id);
    CREATE INDEX sessions_by_expiry ON upload_sessions (expire_time);

    CREATE TABLE leases (
      name    TEXT   PRIMARY KEY,
      holder  TEXT   NOT NULL,
      expires BIGINT NOT NULL
    );
    `,
  },
  {
    version: 2,
    name: 'per-key request counters (rate-limiter-flexible layout)',
    // The library's own table layout, created here so that it exists before any replica
    // counts (its lazy CREATE TABLE races when replicas start together).
    sql: `
    CREATE TABLE rate_limits (
      key    VARCHAR(255) PRIMARY KEY,
      points INTEGER NOT NULL DEFAULT 0,
      expire BIGINT
    );
    `,
  },
  {
    version: 3,
    name: 'batch jobs (src/batch/pg-store.ts)',
    // Metadata, requests and outcomes are JSON text, not jsonb: jsonb reorders keys, and an
    // answer must come back byte for byte as it was produced. Item status: 0 pending,
    // 1 running (under holder's lease until leased_until), 2 succeeded, 3 failed.
    sql: `
    CREATE TABLE batches (
      seq            BIGSERIAL PRIMARY KEY,
      id             TEXT    NOT NULL UNIQUE,
      project        TEXT    NOT NULL,
      model          TEXT    NOT NULL,
      display_name   TEXT,
      input_file     TEXT,
      state          TEXT    NOT NULL,
      responses_file TEXT,
      error_message  TEXT,
      request_count  INTEGER NOT NULL,
      create_time    BIGINT  NOT NULL,
      update_time    BIGINT  NOT NULL,
      end_time       BIGINT,
      finalizer      TEXT,
      finalize_until BIGINT
    );
    CREATE INDEX batches_by_project ON batches (project, seq);
    CREATE INDEX batches_active ON batches (seq) WHERE state IN ('BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING');

    CREATE TABLE batch_items (
      batch_seq    BIGINT   NOT NULL REFERENCES batches (seq) ON DELETE CASCADE,
      idx          INTEGER  NOT NULL,
      metadata     TEXT,
      request      TEXT,
      status       SMALLINT NOT NULL,
      attempts     INTEGER  NOT NULL DEFAULT 0,
      not_before   BIGINT   NOT NULL DEFAULT 0,
      holder       TEXT,
      leased_until BIGINT,
      outcome      TEXT,
      PRIMARY KEY (batch_seq, idx)
    );
    -- The claim's scan: open items only, in batch and request order.
    CREATE INDEX batch_items_open ON batch_items (batch_seq, idx) WHERE status IN (0, 1);
    CREATE INDEX batch_items_by_holder ON batch_items (holder) WHERE status = 1;

    CREATE TABLE batch_generated_files (
      project TEXT NOT NULL,
      file_id TEXT NOT NULL,
      PRIMARY KEY (project, file_id)
    );
    `,
  },
];

export interface MigrationReport {
  /** Versions this call applied (empty when another replica already had). */
  applied: number[];
  version: number;
}

export async function migrate(pool: Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationReport> {
  const client = await pool.connect();
  try {
    // A session lock (not a transaction one): held across the migrations' own transactions.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT    NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const done = new Set(rows.map((r) => r.version));
      const applied: number[] = [];
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw new Error(`database migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
        }
        applied.push(m.version);
      }
      return { applied, version: Math.max(0, ...migrations.map((m) => m.version)) };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    }
  } finally {
    client.release();
  }
}
