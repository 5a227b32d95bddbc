/**
 * The Files tables on SQLite: forward-only migrations recorded in `schema_version` (one row
 * per component; ours is `files`), and the mapping between rows and records.
 */
import type Database from 'better-sqlite3';
import type { FileRecord, FileState, NewFileRecord, UploadSession } from './store.js';

/** Each entry migrates from version i to i + 1. Append only; never edit a shipped one. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE files (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    project       TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    display_name  TEXT,
    mime_type     TEXT    NOT NULL,
    size_bytes    INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,
    blob_key      TEXT,
    state         TEXT    NOT NULL,
    error_message TEXT,
    create_time   INTEGER NOT NULL,
    update_time   INTEGER NOT NULL,
    expire_time   INTEGER NOT NULL,
    UNIQUE (project, id)
  );
  CREATE INDEX files_by_project ON files (project, seq);
  CREATE INDEX files_by_expiry ON files (expire_time);
  CREATE INDEX files_by_blob ON files (blob_key);
  CREATE INDEX files_by_state ON files (state);

  CREATE TABLE upload_sessions (
    key           TEXT    PRIMARY KEY,
    project       TEXT    NOT NULL,
    file_id       TEXT    NOT NULL,
    display_name  TEXT,
    mime_type     TEXT,
    declared_size INTEGER,
    partial_key   TEXT    NOT NULL UNIQUE,
    create_time   INTEGER NOT NULL,
    expire_time   INTEGER NOT NULL,
    final_size    INTEGER
  );
  CREATE INDEX sessions_by_project ON upload_sessions (project, file_id);
  CREATE INDEX sessions_by_expiry ON upload_sessions (expire_time);
  `,
  // 2: offsets recorded per chunk with a writer lease (compare-and-set across processes),
  // and named leases (the expiry sweeper's).
  `
  ALTER TABLE upload_sessions ADD COLUMN received_bytes INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE upload_sessions ADD COLUMN writer TEXT;
  ALTER TABLE upload_sessions ADD COLUMN writer_until INTEGER;
  CREATE TABLE leases (
    name    TEXT    PRIMARY KEY,
    holder  TEXT    NOT NULL,
    expires INTEGER NOT NULL
  );
  `,
];

export const SWEEP_LEASE = 'files-sweep';

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface FileRow {
  seq: number;
  project: string;
  id: string;
  display_name: string | null;
  mime_type: string;
  size_bytes: number;
  sha256: string;
  blob_key: string | null;
  state: string;
  error_message: string | null;
  create_time: number;
  update_time: number;
  expire_time: number;
}

export interface SessionRow {
  key: string;
  project: string;
  file_id: string;
  display_name: string | null;
  mime_type: string | null;
  declared_size: number | null;
  partial_key: string;
  received_bytes: number;
  writer: string | null;
  writer_until: number | null;
  create_time: number;
  expire_time: number;
  final_size: number | null;
}

export const toFile = (r: FileRow): FileRecord => ({
  seq: r.seq,
  project: r.project,
  id: r.id,
  displayName: r.display_name ?? undefined,
  mimeType: r.mime_type,
  sizeBytes: r.size_bytes,
  sha256Hex: r.sha256,
  blobKey: r.blob_key ?? undefined,
  state: r.state as FileState,
  errorMessage: r.error_message ?? undefined,
  createTime: r.create_time,
  updateTime: r.update_time,
  expirationTime: r.expire_time,
});

export const toSession = (r: SessionRow): UploadSession => ({
  key: r.key,
  project: r.project,
  fileId: r.file_id,
  displayName: r.display_name ?? undefined,
  mimeType: r.mime_type ?? undefined,
  declaredSize: r.declared_size ?? undefined,
  uploadKey: r.partial_key,
  receivedBytes: r.received_bytes,
  createTime: r.create_time,
  expirationTime: r.expire_time,
  finalSize: r.final_size ?? undefined,
});

export const fileParams = (r: NewFileRecord) => ({
  project: r.project,
  id: r.id,
  display_name: r.displayName ?? null,
  mime_type: r.mimeType,
  size_bytes: r.sizeBytes,
  sha256: r.sha256Hex,
  blob_key: r.blobKey ?? null,
  state: r.state,
  error_message: r.errorMessage ?? null,
  create_time: r.createTime,
  update_time: r.updateTime,
  expire_time: r.expirationTime,
});

/** The Files API's row in `schema_version`; other components keep their own rows. */
const COMPONENT = 'files';

export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)');
  db.transaction(() => {
    const row = db
      .prepare<[string], { version: number }>('SELECT version FROM schema_version WHERE component = ?')
      .get(COMPONENT);
    let version = row?.version ?? 0;
    if (row === undefined) db.prepare('INSERT INTO schema_version (component, version) VALUES (?, 0)').run(COMPONENT);
    if (version > MIGRATIONS.length)
      throw new Error(
        `database schema version ${version} is newer than this Ocellus (${MIGRATIONS.length}); upgrade Ocellus`,
      );
    for (; version < MIGRATIONS.length; version++) db.exec(MIGRATIONS[version]!);
    db.prepare('UPDATE schema_version SET version = ? WHERE component = ?').run(version, COMPONENT);
  })();
}

