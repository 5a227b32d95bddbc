/**
 * MetaStore on PostgreSQL (`--database-url`), shared by every replica. Tables come from
 * src/db/migrations.ts. What makes each MetaStore step atomic across processes:
 *
 * - inserts that check a project's ids and quota first run in one transaction holding a
 *   per-project advisory lock (`pg_advisory_xact_lock`), so two replicas never both see
 *   room for one more file; the (project, id) unique key backs the id check up;
 * - the chunk writer lease and the offset compare-and-set are single conditional UPDATEs
 *   (the row lock is the arbiter); a lease left by a killed replica lapses by time;
 * - finalisation locks the session row (FOR UPDATE) inside the project's lock: once only;
 * - the sweep lease is one conditional upsert on `leases`.
 */
import type { Pool, PoolClient } from '../db/pool.js';
import { inTransaction } from '../db/pool.js';
import type {
  ChunkClaim,
  FileListPage,
  FilePatch,
  FileRecord,
  FileState,
  FinalizeOutcome,
  InsertOutcome,
  MetaStore,
  NewFileRecord,
  QuotaCheck,
  UploadSession,
} from './store.js';

const SWEEP_LEASE = 'files-sweep';

interface FileRow {
  seq: string | number;
  project: string;
  id: string;
  display_name: string | null;
  mime_type: string;
  size_bytes: string | number;
  sha256: string;
  blob_key: string | null;
  state: string;
  error_message: string | null;
  create_time: string | number;
  update_time: string | number;
  expire_time: string | number;
}

interface SessionRow {
  key: string;
  project: string;
  file_id: string;
  display_name: string | null;
  mime_type: string | null;
  declared_size: string | number | null;
  upload_key: string;
  received_bytes: string | number;
  writer: string | null;
  writer_until: string | number | null;
  create_time: string | number;
  expire_time: string | number;
  final_size: string | number | null;
}

// BIGINT columns arrive as strings unless the pool's type parser turned them into numbers.
const num = (v: string | number): number => Number(v);
const numOrUndef = (v: string | number | null): number | undefined => (v === null ? undefined : Number(v));

const toFile = (r: FileRow): FileRecord => ({
  seq: num(r.seq),
  project: r.project,
  id: r.id,
  displayName: r.display_name ?? undefined,
  mimeType: r.mime_type,
  sizeBytes: num(r.size_bytes),
  sha256Hex: r.sha256,
  blobKey: r.blob_key ?? undefined,
  state: r.state as FileState,
  errorMessage: r.error_message ?? undefined,
  createTime: num(r.create_time),
  updateTime: num(r.update_time),
  expirationTime: num(r.expire_time),
});

const toSession = (r: SessionRow): UploadSession => ({
  key: r.key,
  project: r.project,
  fileId: r.file_id,
  displayName: r.display_name ?? undefined,
  mimeType: r.mime_type ?? undefined,
  declaredSize: numOrUndef(r.declared_size),
  uploadKey: r.upload_key,
  receivedBytes: num(r.received_bytes),
  createTime: num(r.create_time),
  expirationTime: num(r.expire_time),
  finalSize: numOrUndef(r.final_size),
});

type Queryable = Pick<PoolClient, 'query'> | Pool;

/** Serialises, per project, the transactions that check ids or quota before inserting. */
const lockProject = (c: Queryable, project: string) => c.query("SELECT pg_advisory_xact_lock(hashtext('ocellus-files'), hashtext($1))", [project]);

export class PgMetaStore implements MetaStore {
  constructor(private readonly pool: Pool) {}

  async insertFile(record: NewFileRecord, quota: QuotaCheck | undefined): Promise<InsertOutcome<FileRecord>> {
    return inTransaction(this.pool, async (c) => {
      await lockProject(c, record.project);
      return this.insertFileLocked(c, record, quota, quota?.now ?? record.createTime, undefined);
    });
  }

  /** The insert's checks, inside a transaction that holds the project's lock. */
  private async insertFileLocked(
    c: PoolClient,
    record: NewFileRecord,
    quota: QuotaCheck | undefined,
    now: number,
    exceptSession: string | undefined,
  ): Promise<InsertOutcome<FileRecord>> {
    const reclaimed = await this.reclaim(c, record.project, record.id, now);
    if (await this.idTakenExcept(c, record.project, record.id, now, exceptSession)) return { ok: false, reason: 'id-taken' };
    if (quota && (await this.usedBytesWith(c, record.project, now)) + (quota.extraBytes ?? 0) + record.sizeBytes > quota.quotaBytes)
      return { ok: false, reason: 'quota' };
    const { rows } = await c.query<FileRow>(
      `INSERT INTO files (project, id, display_name, mime_type, size_bytes, sha256, blob_key, state,
                          error_message, create_time, update_time, expire_time)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
      [
        record.project,
        record.id,
        record.displayName ?? null,
        record.mimeType,
        record.sizeBytes,
        record.sha256Hex,
        record.blobKey ?? null,
        record.state,
        record.errorMessage ?? null,
        record.createTime,
        record.updateTime,
        record.expirationTime,
      ],
    );
    const value = toFile(rows[0]!);
    return reclaimed ? { ok: true, value, reclaimed } : { ok: true, value };
  }

  /** Removes the expired (unswept) row of an id so the id can be used again. */
  private async reclaim(c: PoolClient, project: string, id: string, now: number): Promise<FileRecord | undefined> {
    const { rows } = await c.query<FileRow>('DELETE FROM files WHERE project = $1 AND id = $2 AND expire_time <= $3 RETURNING *', [project, id, now]);
    return rows[0] && toFile(rows[0]);
  }

  private async idTakenExcept(c: Queryable, project: string, id: string, now: number, exceptSession: string | undefined): Promise<boolean> {
    const { rows } = await c.query(
      `SELECT 1 FROM files WHERE project = $1 AND id = $2 AND expire_time > $3
       UNION ALL
       SELECT 1 FROM upload_sessions
        WHERE project = $1 AND file_id = $2 AND expire_time > $3 AND final_size IS NULL AND key <> $4
       LIMIT 1`,
      [project, id, now, exceptSession ?? ''],
    );
    return rows.length > 0;
  }

  private async usedBytesWith(c: Queryable, project: string, now: number): Promise<number> {
    const { rows } = await c.query<{ n: string }>(
      `SELECT (SELECT COALESCE(SUM(size_bytes), 0) FROM files WHERE project = $1 AND expire_time > $2)
            + (SELECT COALESCE(SUM(COALESCE(declared_size, received_bytes)), 0) FROM upload_sessions
                WHERE project = $1 AND expire_time > $2 AND final_size IS NULL) AS n`,
      [project, now],
    );
    return Number(rows[0]!.n);
  }

  async getFile(project: string, id: string): Promise<FileRecord | undefined> {
    const { rows } = await this.pool.query<FileRow>('SELECT * FROM files WHERE project = $1 AND id = $2', [project, id]);
    return rows[0] && toFile(rows[0]);
  }

  async updateFile(project: string, id: string, patch: FilePatch, expectSeq?: number): Promise<FileRecord | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [project, id];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.state !== undefined) set('state', patch.state);
    if (patch.mimeType !== undefined) set('mime_type', patch.mimeType);
    if ('errorMessage' in patch) set('error_message', patch.errorMessage ?? null);
    if (patch.updateTime !== undefined) set('update_time', patch.updateTime);
    let where = 'project = $1 AND id = $2';
    if (expectSeq !== undefined) {
      params.push(expectSeq);
      where += ` AND seq = $${params.length}`;
    }
    if (sets.length === 0) {
      const { rows } = await this.pool.query<FileRow>(`SELECT * FROM files WHERE ${where}`, params);
      return rows[0] && toFile(rows[0]);
    }
    const { rows } = await this.pool.query<FileRow>(`UPDATE files SET ${sets.join(', ')} WHERE ${where} RETURNING *`, params);
    return rows[0] && toFile(rows[0]);
  }

  async listFiles(project: string, now: number, limit: number, after?: number): Promise<FileListPage> {
    const { rows } =
      after === undefined
        ? await this.pool.query<FileRow>('SELECT * FROM files WHERE project = $1 AND expire_time > $2 ORDER BY seq DESC LIMIT $3', [project, now, limit + 1])
        : await this.pool.query<FileRow>(
            'SELECT * FROM files WHERE project = $1 AND expire_time > $2 AND seq < $3 ORDER BY seq DESC LIMIT $4',
            [project, now, after, limit + 1],
          );
    const files = rows.slice(0, limit).map(toFile);
    return { files, nextAfter: rows.length > limit ? files[files.length - 1]?.seq : undefined };
  }

  async deleteFile(project: string, id: string, expectSeq?: number): Promise<FileRecord | undefined> {
    const { rows } =
      expectSeq === undefined
        ? await this.pool.query<FileRow>('DELETE FROM files WHERE project = $1 AND id = $2 RETURNING *', [project, id])
        : await this.pool.query<FileRow>('DELETE FROM files WHERE project = $1 AND id = $2 AND seq = $3 RETURNING *', [project, id, expectSeq]);
    return rows[0] && toFile(rows[0]);
  }

  usedBytes(project: string, now: number): Promise<number> {
    return this.usedBytesWith(this.pool, project, now);
  }

  idTaken(project: string, id: string, now: number): Promise<boolean> {
    return this.idTakenExcept(this.pool, project, id, now, undefined);
  }

  async filesInState(state: FileState, limit: number): Promise<FileRecord[]> {
    const { rows } = await this.pool.query<FileRow>('SELECT * FROM files WHERE state = $1 ORDER BY seq LIMIT $2', [state, limit]);
    return rows.map(toFile);
  }

  async hasBlobKey(blobKey: string): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM files WHERE blob_key = $1 LIMIT 1', [blobKey]);
    return rows.length > 0;
  }

  async insertSession(session: UploadSession, quota: QuotaCheck): Promise<InsertOutcome<UploadSession>> {
    return inTransaction(this.pool, async (c) => {
      await lockProject(c, session.project);
      const reclaimed = await this.reclaim(c, session.project, session.fileId, quota.now);
      if (await this.idTakenExcept(c, session.project, session.fileId, quota.now, undefined)) return { ok: false, reason: 'id-taken' };
      if (
        session.declaredSize !== undefined &&
        (await this.usedBytesWith(c, session.project, quota.now)) + (quota.extraBytes ?? 0) + session.declaredSize > quota.quotaBytes
      )
        return { ok: false, reason: 'quota' };
      await c.query(
        `INSERT INTO upload_sessions (key, project, file_id, display_name, mime_type, declared_size, upload_key,
                                      received_bytes, create_time, expire_time, final_size)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          session.key,
          session.project,
          session.fileId,
          session.displayName ?? null,
          session.mimeType ?? null,
          session.declaredSize ?? null,
          session.uploadKey,
          session.receivedBytes,
          session.createTime,
          session.expirationTime,
          session.finalSize ?? null,
        ],
      );
      return reclaimed ? { ok: true, value: session, reclaimed } : { ok: true, value: session };
    });
  }

  async getSession(key: string): Promise<UploadSession | undefined> {
    const { rows } = await this.pool.query<SessionRow>('SELECT * FROM upload_sessions WHERE key = $1', [key]);
    return rows[0] && toSession(rows[0]);
  }

  async beginChunk(key: string, holder: string, now: number, leaseMs: number): Promise<ChunkClaim> {
    // One UPDATE takes the lease when it is free, ours or lapsed; the row lock decides races.
    const { rows } = await this.pool.query<SessionRow>(
      `UPDATE upload_sessions SET writer = $2, writer_until = $3
        WHERE key = $1 AND expire_time > $4 AND final_size IS NULL
          AND (writer IS NULL OR writer = $2 OR writer_until <= $4)
       RETURNING *`,
      [key, holder, now + leaseMs, now],
    );
    if (rows[0]) return { ok: true, session: toSession(rows[0]) };
    // Not taken: say why (the row may have changed since, but the answer was true a moment ago).
    const row = (await this.pool.query<SessionRow>('SELECT * FROM upload_sessions WHERE key = $1', [key])).rows[0];
    if (!row || num(row.expire_time) <= now) return { ok: false, reason: 'missing' };
    const session = toSession(row);
    if (row.final_size !== null) return { ok: false, reason: 'final', session };
    return { ok: false, reason: 'busy', session };
  }

  async endChunk(key: string, holder: string, expectedOffset: number, newOffset: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE upload_sessions SET received_bytes = $1, writer = NULL, writer_until = NULL
        WHERE key = $2 AND writer = $3 AND received_bytes = $4 AND final_size IS NULL`,
      [newOffset, key, holder, expectedOffset],
    );
    return rowCount === 1;
  }

  async releaseChunk(key: string, holder: string): Promise<void> {
    await this.pool.query('UPDATE upload_sessions SET writer = NULL, writer_until = NULL WHERE key = $1 AND writer = $2', [key, holder]);
  }

  async finalizeSession(key: string, holder: string, record: NewFileRecord, now: number): Promise<FinalizeOutcome> {
    return inTransaction(this.pool, async (c): Promise<FinalizeOutcome> => {
      // The project lock first (as every checked insert takes it), then the session row.
      await lockProject(c, record.project);
      const row = (await c.query<SessionRow>('SELECT * FROM upload_sessions WHERE key = $1 FOR UPDATE', [key])).rows[0];
      if (!row || num(row.expire_time) <= now) return { ok: false, reason: 'missing' };
      if (row.final_size !== null) return { ok: false, reason: 'final' };
      if (row.writer !== holder) return { ok: false, reason: 'not-holder' };
      const inserted = await this.insertFileLocked(c, record, undefined, now, key);
      if (!inserted.ok) return { ok: false, reason: 'id-taken' };
      await c.query(
        'UPDATE upload_sessions SET final_size = $1, received_bytes = $1, writer = NULL, writer_until = NULL WHERE key = $2',
        [record.sizeBytes, key],
      );
      return inserted.reclaimed ? { ok: true, file: inserted.value, reclaimed: inserted.reclaimed } : { ok: true, file: inserted.value };
    });
  }

  async deleteSession(key: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM upload_sessions WHERE key = $1', [key]);
    return (rowCount ?? 0) > 0;
  }

  async hasUploadKey(uploadKey: string): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM upload_sessions WHERE upload_key = $1', [uploadKey]);
    return rows.length > 0;
  }

  async tryAcquireSweepLease(holder: string, now: number, ttlMs: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
        WHERE leases.holder = excluded.holder OR leases.expires <= $4`,
      [SWEEP_LEASE, holder, now + ttlMs, now],
    );
    return rowCount === 1;
  }

  async releaseSweepLease(holder: string): Promise<void> {
    await this.pool.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [SWEEP_LEASE, holder]);
  }

  async expiredFiles(now: number, limit: number): Promise<FileRecord[]> {
    const { rows } = await this.pool.query<FileRow>('SELECT * FROM files WHERE expire_time <= $1 ORDER BY expire_time LIMIT $2', [now, limit]);
    return rows.map(toFile);
  }

  async expiredSessions(now: number, limit: number): Promise<UploadSession[]> {
    const { rows } = await this.pool.query<SessionRow>('SELECT * FROM upload_sessions WHERE expire_time <= $1 ORDER BY expire_time LIMIT $2', [now, limit]);
    return rows.map(toSession);
  }

  /** The pool belongs to the caller (it is shared with the rate limiter): nothing to close here. */
  async close(): Promise<void> {}
}
