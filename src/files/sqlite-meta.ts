/**
 * MetaStore on SQLite (better-sqlite3): `<dataDir>/ocellus.db`, WAL journal, the schema
 * of sqlite-schema.ts. Statements are prepared once.
 *
 * Two layers: `SqliteFileTables` is the synchronous table access (each method one
 * statement or one transaction, which is what makes the MetaStore's checks atomic here),
 * and `SqliteMetaStore` is the MetaStore seam over it, Promise-returning like the
 * PostgreSQL store. Tests read the tables synchronously to check what was stored.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fileParams, migrate, SCHEMA_VERSION, SWEEP_LEASE, toFile, toSession, type FileRow, type SessionRow } from './sqlite-schema.js';
import type { ChunkClaim, FileListPage, FilePatch, FileRecord, FileState, FinalizeOutcome, InsertOutcome, MetaStore, NewFileRecord, QuotaCheck, UploadSession } from './store.js';

export class SqliteFileTables {
  private readonly db: Database.Database;
  private readonly stmt: Statements;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // FULL: a file the client was told is final survives a power loss, not just a crash.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
    this.stmt = prepare(this.db);
  }

  insertFile(record: NewFileRecord): FileRecord {
    return toFile(this.stmt.insertFile.get(fileParams(record))!);
  }

  getFile(project: string, id: string): FileRecord | undefined {
    const row = this.stmt.getFile.get(project, id);
    return row && toFile(row);
  }

  /**
   * Inserts the file if its id is free (a live file, or an open session other than
   * `exceptSession`, holds it) and the quota allows it; an expired row of the id is removed
   * first and handed back.
   */
  insertFileIf(record: NewFileRecord, quota: QuotaCheck | undefined, exceptSession?: string): InsertOutcome<FileRecord> {
    return this.db.transaction((): InsertOutcome<FileRecord> => {
      const now = quota?.now ?? record.createTime;
      const reclaimed = this.reclaim(record.project, record.id, now);
      if (this.idTakenExcept(record.project, record.id, now, exceptSession)) return { ok: false, reason: 'id-taken' };
      if (quota && this.usedBytes(record.project, now) + (quota.extraBytes ?? 0) + record.sizeBytes > quota.quotaBytes)
        return { ok: false, reason: 'quota' };
      const value = this.insertFile(record);
      return reclaimed ? { ok: true, value, reclaimed } : { ok: true, value };
    }).immediate();
  }

  /** Inserts the session if its file id is free and the quota allows its declared size. */
  insertSessionIf(session: UploadSession, quota: QuotaCheck): InsertOutcome<UploadSession> {
    return this.db.transaction((): InsertOutcome<UploadSession> => {
      const reclaimed = this.reclaim(session.project, session.fileId, quota.now);
      if (this.idTaken(session.project, session.fileId, quota.now)) return { ok: false, reason: 'id-taken' };
      if (
        session.declaredSize !== undefined &&
        this.usedBytes(session.project, quota.now) + (quota.extraBytes ?? 0) + session.declaredSize > quota.quotaBytes
      )
        return { ok: false, reason: 'quota' };
      this.insertSession(session);
      return reclaimed ? { ok: true, value: session, reclaimed } : { ok: true, value: session };
    }).immediate();
  }

  /** Removes the expired row of an id (not yet swept) so the id can be used again. */
  private reclaim(project: string, id: string, now: number): FileRecord | undefined {
    const old = this.getFile(project, id);
    if (!old || old.expirationTime > now) return undefined;
    return this.deleteFile(project, id, old.seq);
  }

  /**
   * `fn`'s commit reaches the WAL unsynced (synchronous = NORMAL): for the writer lease and
   * the recorded offset, which a power loss may roll back harmlessly (a lease is void after a
   * crash; the next writer trusts the BlobStore's byte count). Their two fsyncs per chunk
   * were most of what the async store seam added to an 8 MiB chunk. A later FULL commit syncs them.
   */
  private unsynced<T>(fn: () => T): T {
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  beginChunk(key: string, holder: string, now: number, leaseMs: number): ChunkClaim {
    return this.unsynced(() => this.claimChunk(key, holder, now, leaseMs));
  }

  private claimChunk(key: string, holder: string, now: number, leaseMs: number): ChunkClaim {
    return this.db.transaction((): ChunkClaim => {
      const row = this.stmt.getSession.get(key);
      if (!row || row.expire_time <= now) return { ok: false, reason: 'missing' };
      const session = toSession(row);
      if (row.final_size !== null) return { ok: false, reason: 'final', session };
      if (row.writer !== null && row.writer !== holder && (row.writer_until ?? 0) > now)
        return { ok: false, reason: 'busy', session };
      this.stmt.setWriter.run(holder, now + leaseMs, key);
      return { ok: true, session };
    }).immediate();
  }

  endChunk(key: string, holder: string, expectedOffset: number, newOffset: number): boolean {
    return this.unsynced(() => this.stmt.endChunk.run(newOffset, key, holder, expectedOffset).changes === 1);
  }

  releaseChunk(key: string, holder: string): void {
    this.unsynced(() => this.stmt.releaseWriter.run(key, holder));
  }

  finalizeOnce(key: string, holder: string, record: NewFileRecord, now: number): FinalizeOutcome {
    return this.db.transaction((): FinalizeOutcome => {
      const row = this.stmt.getSession.get(key);
      if (!row || row.expire_time <= now) return { ok: false, reason: 'missing' };
      if (row.final_size !== null) return { ok: false, reason: 'final' };
      if (row.writer !== holder) return { ok: false, reason: 'not-holder' };
      const inserted = this.insertFileIf(record, undefined, key);
      if (!inserted.ok) return { ok: false, reason: 'id-taken' };
      this.stmt.markFinal.run(record.sizeBytes, record.sizeBytes, key);
      return inserted.reclaimed ? { ok: true, file: inserted.value, reclaimed: inserted.reclaimed } : { ok: true, file: inserted.value };
    }).immediate();
  }

  tryAcquireSweepLease(holder: string, now: number, ttlMs: number): boolean {
    return this.stmt.takeLease.run({ name: SWEEP_LEASE, holder, expires: now + ttlMs, now }).changes === 1;
  }

  releaseSweepLease(holder: string): void {
    this.stmt.dropLease.run(SWEEP_LEASE, holder);
  }

  updateFile(project: string, id: string, patch: FilePatch, expectSeq?: number): FileRecord | undefined {
    const sets: string[] = [];
    const params: Record<string, unknown> = { project, id };
    let where = 'project = @project AND id = @id';
    if (expectSeq !== undefined) ((where += ' AND seq = @seq'), (params.seq = expectSeq));
    if (patch.state !== undefined) (sets.push('state = @state'), (params.state = patch.state));
    if (patch.mimeType !== undefined) (sets.push('mime_type = @mime_type'), (params.mime_type = patch.mimeType));
    if ('errorMessage' in patch) (sets.push('error_message = @error_message'), (params.error_message = patch.errorMessage ?? null));
    if (patch.updateTime !== undefined) (sets.push('update_time = @update_time'), (params.update_time = patch.updateTime));
    if (sets.length === 0) return this.getFile(project, id);
    const row = this.db
      .prepare<Record<string, unknown>, FileRow>(
        `UPDATE files SET ${sets.join(', ')} WHERE ${where} RETURNING *`,
      )
      .get(params);
    return row && toFile(row);
  }

  listFiles(project: string, now: number, limit: number, after?: number): FileListPage {
    const rows =
      after === undefined
        ? this.stmt.listFirst.all(project, now, limit + 1)
        : this.stmt.listAfter.all(project, now, after, limit + 1);
    const files = rows.slice(0, limit).map(toFile);
    return { files, nextAfter: rows.length > limit ? files[files.length - 1]?.seq : undefined };
  }

  deleteFile(project: string, id: string, expectSeq?: number): FileRecord | undefined {
    const row =
      expectSeq === undefined ? this.stmt.deleteFile.get(project, id) : this.stmt.deleteFileSeq.get(project, id, expectSeq);
    return row && toFile(row);
  }

  usedBytes(project: string, now: number): number {
    return this.stmt.fileBytes.get(project, now)!.n + this.stmt.sessionBytes.get(project, now)!.n;
  }

  idTaken(project: string, id: string, now: number): boolean {
    return this.idTakenExcept(project, id, now, undefined);
  }

  private idTakenExcept(project: string, id: string, now: number, exceptSession: string | undefined): boolean {
    return (
      this.stmt.fileIdTaken.get(project, id, now) !== undefined ||
      this.stmt.sessionIdTaken.get(project, id, now, exceptSession ?? '') !== undefined
    );
  }

  expiredFiles(now: number, limit: number): FileRecord[] {
    return this.stmt.expiredFiles.all(now, limit).map(toFile);
  }

  filesInState(state: FileState, limit: number): FileRecord[] {
    return this.stmt.filesInState.all(state, limit).map(toFile);
  }

  hasBlobKey(blobKey: string): boolean {
    return this.stmt.hasBlob.get(blobKey) !== undefined;
  }

  insertSession(s: UploadSession): void {
    this.stmt.insertSession.run({
      key: s.key,
      project: s.project,
      file_id: s.fileId,
      display_name: s.displayName ?? null,
      mime_type: s.mimeType ?? null,
      declared_size: s.declaredSize ?? null,
      partial_key: s.uploadKey,
      received_bytes: s.receivedBytes,
      create_time: s.createTime,
      expire_time: s.expirationTime,
      final_size: s.finalSize ?? null,
    });
  }

  getSession(key: string): UploadSession | undefined {
    const row = this.stmt.getSession.get(key);
    return row && toSession(row);
  }

  deleteSession(key: string): boolean {
    return this.stmt.deleteSession.run(key).changes > 0;
  }

  expiredSessions(now: number, limit: number): UploadSession[] {
    return this.stmt.expiredSessions.all(now, limit).map(toSession);
  }

  hasUploadKey(partialKey: string): boolean {
    return this.stmt.hasPartial.get(partialKey) !== undefined;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

type Statements = ReturnType<typeof prepare>;

function prepare(db: Database.Database) {
  return {
    insertFile: db.prepare<Record<string, unknown>, FileRow>(
      `INSERT INTO files (project, id, display_name, mime_type, size_bytes, sha256, blob_key, state,
                          error_message, create_time, update_time, expire_time)
       VALUES (@project, @id, @display_name, @mime_type, @size_bytes, @sha256, @blob_key, @state,
               @error_message, @create_time, @update_time, @expire_time)
       RETURNING *`,
    ),
    getFile: db.prepare<[string, string], FileRow>('SELECT * FROM files WHERE project = ? AND id = ?'),
    deleteFile: db.prepare<[string, string], FileRow>('DELETE FROM files WHERE project = ? AND id = ? RETURNING *'),
    deleteFileSeq: db.prepare<[string, string, number], FileRow>(
      'DELETE FROM files WHERE project = ? AND id = ? AND seq = ? RETURNING *',
    ),
    listFirst: db.prepare<[string, number, number], FileRow>(
      'SELECT * FROM files WHERE project = ? AND expire_time > ? ORDER BY seq DESC LIMIT ?',
    ),
    listAfter: db.prepare<[string, number, number, number], FileRow>(
      'SELECT * FROM files WHERE project = ? AND expire_time > ? AND seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    fileBytes: db.prepare<[string, number], { n: number }>(
      'SELECT COALESCE(SUM(size_bytes), 0) AS n FROM files WHERE project = ? AND expire_time > ?',
    ),
    sessionBytes: db.prepare<[string, number], { n: number }>(
      // An undeclared session reserves what it has received so far.
      `SELECT COALESCE(SUM(COALESCE(declared_size, received_bytes)), 0) AS n FROM upload_sessions
       WHERE project = ? AND expire_time > ? AND final_size IS NULL`,
    ),
    fileIdTaken: db.prepare<[string, string, number], { one: number }>(
      'SELECT 1 AS one FROM files WHERE project = ? AND id = ? AND expire_time > ?',
    ),
    sessionIdTaken: db.prepare<[string, string, number, string], { one: number }>(
      `SELECT 1 AS one FROM upload_sessions
       WHERE project = ? AND file_id = ? AND expire_time > ? AND final_size IS NULL AND key <> ?`,
    ),
    expiredFiles: db.prepare<[number, number], FileRow>(
      'SELECT * FROM files WHERE expire_time <= ? ORDER BY expire_time LIMIT ?',
    ),
    filesInState: db.prepare<[string, number], FileRow>('SELECT * FROM files WHERE state = ? ORDER BY seq LIMIT ?'),
    hasBlob: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM files WHERE blob_key = ? LIMIT 1'),
    insertSession: db.prepare<Record<string, unknown>>(
      `INSERT INTO upload_sessions (key, project, file_id, display_name, mime_type, declared_size, partial_key,
                                    received_bytes, create_time, expire_time, final_size)
       VALUES (@key, @project, @file_id, @display_name, @mime_type, @declared_size, @partial_key,
               @received_bytes, @create_time, @expire_time, @final_size)`,
    ),
    getSession: db.prepare<[string], SessionRow>('SELECT * FROM upload_sessions WHERE key = ?'),
    deleteSession: db.prepare<[string]>('DELETE FROM upload_sessions WHERE key = ?'),
    markFinal: db.prepare<[number, number, string]>(
      'UPDATE upload_sessions SET final_size = ?, received_bytes = ?, writer = NULL, writer_until = NULL WHERE key = ?',
    ),
    setWriter: db.prepare<[string, number, string]>('UPDATE upload_sessions SET writer = ?, writer_until = ? WHERE key = ?'),
    endChunk: db.prepare<[number, string, string, number]>(
      `UPDATE upload_sessions SET received_bytes = ?, writer = NULL, writer_until = NULL
       WHERE key = ? AND writer = ? AND received_bytes = ? AND final_size IS NULL`,
    ),
    releaseWriter: db.prepare<[string, string]>(
      'UPDATE upload_sessions SET writer = NULL, writer_until = NULL WHERE key = ? AND writer = ?',
    ),
    takeLease: db.prepare<Record<string, unknown>>(
      `INSERT INTO leases (name, holder, expires) VALUES (@name, @holder, @expires)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
       WHERE leases.holder = excluded.holder OR leases.expires <= @now`,
    ),
    dropLease: db.prepare<[string, string]>('DELETE FROM leases WHERE name = ? AND holder = ?'),
    expiredSessions: db.prepare<[number, number], SessionRow>(
      'SELECT * FROM upload_sessions WHERE expire_time <= ? ORDER BY expire_time LIMIT ?',
    ),
    hasPartial: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM upload_sessions WHERE partial_key = ?'),
  };
}

/** The MetaStore seam over the tables: the same atomic operations, Promise-returning. */
export class SqliteMetaStore implements MetaStore {
  constructor(readonly tables: SqliteFileTables) {}

  async insertFile(record: NewFileRecord, quota: QuotaCheck | undefined) {
    return this.tables.insertFileIf(record, quota);
  }
  async getFile(project: string, id: string) {
    return this.tables.getFile(project, id);
  }
  async updateFile(project: string, id: string, patch: FilePatch, expectSeq?: number) {
    return this.tables.updateFile(project, id, patch, expectSeq);
  }
  async listFiles(project: string, now: number, limit: number, after?: number) {
    return this.tables.listFiles(project, now, limit, after);
  }
  async deleteFile(project: string, id: string, expectSeq?: number) {
    return this.tables.deleteFile(project, id, expectSeq);
  }
  async usedBytes(project: string, now: number) {
    return this.tables.usedBytes(project, now);
  }
  async idTaken(project: string, id: string, now: number) {
    return this.tables.idTaken(project, id, now);
  }
  async filesInState(state: FileState, limit: number) {
    return this.tables.filesInState(state, limit);
  }
  async hasBlobKey(blobKey: string) {
    return this.tables.hasBlobKey(blobKey);
  }
  async insertSession(session: UploadSession, quota: QuotaCheck) {
    return this.tables.insertSessionIf(session, quota);
  }
  async getSession(key: string) {
    return this.tables.getSession(key);
  }
  async beginChunk(key: string, holder: string, now: number, leaseMs: number) {
    return this.tables.beginChunk(key, holder, now, leaseMs);
  }
  async endChunk(key: string, holder: string, expectedOffset: number, newOffset: number) {
    return this.tables.endChunk(key, holder, expectedOffset, newOffset);
  }
  async releaseChunk(key: string, holder: string) {
    this.tables.releaseChunk(key, holder);
  }
  async finalizeSession(key: string, holder: string, record: NewFileRecord, now: number) {
    return this.tables.finalizeOnce(key, holder, record, now);
  }
  async deleteSession(key: string) {
    return this.tables.deleteSession(key);
  }
  async hasUploadKey(uploadKey: string) {
    return this.tables.hasUploadKey(uploadKey);
  }
  async tryAcquireSweepLease(holder: string, now: number, ttlMs: number) {
    return this.tables.tryAcquireSweepLease(holder, now, ttlMs);
  }
  async releaseSweepLease(holder: string) {
    this.tables.releaseSweepLease(holder);
  }
  async expiredFiles(now: number, limit: number) {
    return this.tables.expiredFiles(now, limit);
  }
  async expiredSessions(now: number, limit: number) {
    return this.tables.expiredSessions(now, limit);
  }
  async close() {
    this.tables.close();
  }
}

/** Opens (creating and migrating as needed) `<dataDir>/ocellus.db`. */
export function openSqliteFileTables(dataDir: string): SqliteFileTables {
  return new SqliteFileTables(path.join(dataDir, 'ocellus.db'));
}

/** The MetaStore on `<dataDir>/ocellus.db`. */
export function openSqliteMetaStore(dataDir: string): SqliteMetaStore {
  return new SqliteMetaStore(openSqliteFileTables(dataDir));
}

export { SCHEMA_VERSION };
