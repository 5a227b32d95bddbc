/**
 * JobStore on PostgreSQL (`--database-url`), shared by every replica: any replica creates a
 * batch, all of them work it, and any of them reports its progress. Tables come from
 * src/db/migrations.ts (version 3). What makes each step safe across processes:
 *
 * - a claim is one statement: `SELECT … FOR UPDATE SKIP LOCKED` picks items no concurrent
 *   claim holds, and the UPDATE around it marks them running under the claimer's lease;
 *   after the row locks are taken PostgreSQL re-checks the conditions, so an item another
 *   replica has just claimed or answered is not taken again;
 * - an item whose lease ran out (its replica died or stalled) matches the claim again; its
 *   first answer wins: `complete` writes only while the item is not done;
 * - finalisation is a conditional UPDATE taking the batch's finalisation lease, then a
 *   conditional transition from an active state: once, even when replicas race.
 */
import type { Pool } from '../db/pool.js';
import { inTransaction } from '../db/pool.js';
import { ACTIVE_SQL, FAILED, itemColumns, patchColumns, PENDING, RUNNING, SUCCEEDED, toBatch, toCounts, toResult, type BatchRow, type ResultRow } from './rows.js';
import type {
  BatchCounts,
  BatchPage,
  BatchPatch,
  BatchRecord,
  BatchState,
  ClaimedItem,
  ClaimOptions,
  ItemOutcome,
  ItemResult,
  JobStore,
  NewBatch,
  NewItem,
} from './store.js';

/** Items per INSERT when a batch is created (one round trip per slice, not per request). */
const INSERT_SLICE = 500;
const SEQ_OF = (p: string) => `(SELECT seq FROM batches WHERE id = ${p})`;

export class PgJobStore implements JobStore {
  constructor(private readonly pool: Pool) {}

  async createBatch(batch: NewBatch, items: NewItem[]): Promise<BatchRecord> {
    return inTransaction(this.pool, async (c) => {
      const { rows } = await c.query<BatchRow>(
        `INSERT INTO batches (id, project, model, display_name, input_file, state, request_count, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, 'BATCH_STATE_PENDING', $6, $7, $7) RETURNING *`,
        [batch.id, batch.project, batch.model, batch.displayName ?? null, batch.input.kind === 'file' ? batch.input.fileName : null, batch.requestCount, batch.createTime],
      );
      const row = rows[0]!;
      for (let start = 0; start < items.length; start += INSERT_SLICE) {
        const slice = items.slice(start, start + INSERT_SLICE).map(itemColumns);
        await c.query(
          `INSERT INTO batch_items (batch_seq, idx, metadata, request, status, outcome)
           SELECT $1, start + ord - 1, m, r, s, o FROM unnest($2::text[], $3::text[], $4::smallint[], $5::text[]) WITH ORDINALITY AS t(m, r, s, o, ord), (SELECT $6::int AS start) x`,
          [row.seq, slice.map((i) => i[0]), slice.map((i) => i[1]), slice.map((i) => i[2]), slice.map((i) => i[3]), start],
        );
      }
      return toBatch(row);
    });
  }

  async getBatch(project: string, id: string): Promise<BatchRecord | undefined> {
    const { rows } = await this.pool.query<BatchRow>('SELECT * FROM batches WHERE project = $1 AND id = $2', [project, id]);
    return rows[0] && toBatch(rows[0]);
  }

  async listBatches(project: string, limit: number, after?: number): Promise<BatchPage> {
    const { rows } = await this.pool.query<BatchRow>('SELECT * FROM batches WHERE project = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3', [
      project,
      after ?? Number.MAX_SAFE_INTEGER,
      limit + 1,
    ]);
    const batches = rows.slice(0, limit).map(toBatch);
    return { batches, nextAfter: rows.length > limit ? batches[batches.length - 1]?.seq : undefined };
  }

  async activeBatches(): Promise<BatchRecord[]> {
    const { rows } = await this.pool.query<BatchRow>(`SELECT * FROM batches WHERE state IN ${ACTIVE_SQL} ORDER BY seq`);
    return rows.map(toBatch);
  }

  async idleBatches(): Promise<BatchRecord[]> {
    const { rows } = await this.pool.query<BatchRow>(
      `SELECT * FROM batches b WHERE state IN ${ACTIVE_SQL}
          AND NOT EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_seq = b.seq AND i.status IN (${PENDING}, ${RUNNING}))
        ORDER BY seq`,
    );
    return rows.map(toBatch);
  }

  async statesOf(ids: readonly string[]): Promise<Map<string, BatchState>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<{ id: string; state: string }>('SELECT id, state FROM batches WHERE id = ANY($1::text[])', [ids]);
    return new Map(rows.map((r) => [r.id, r.state as BatchState]));
  }

  async updateBatch(id: string, patch: BatchPatch): Promise<BatchRecord | undefined> {
    return this.transition(id, [], patch);
  }

  async transition(id: string, from: readonly BatchState[], patch: BatchPatch): Promise<BatchRecord | undefined> {
    const cols = patchColumns(patch);
    const sets = cols.length ? cols.map(([c], i) => `${c} = $${i + 3}`).join(', ') : 'id = id';
    const guard = from.length ? ' AND state = ANY($2::text[])' : ' AND $2::text[] IS NOT NULL';
    const { rows } = await this.pool.query<BatchRow>(`UPDATE batches SET ${sets} WHERE id = $1${guard} RETURNING *`, [id, from, ...cols.map(([, v]) => v)]);
    return rows[0] && toBatch(rows[0]);
  }

  async beginFinalise(id: string, holder: string, now: number, until: number): Promise<BatchRecord | undefined> {
    const { rows } = await this.pool.query<BatchRow>(
      `UPDATE batches SET finalizer = $2, finalize_until = $3
        WHERE id = $1 AND state IN ${ACTIVE_SQL} AND (finalize_until IS NULL OR finalize_until < $4 OR finalizer = $2) RETURNING *`,
      [id, holder, until, now],
    );
    return rows[0] && toBatch(rows[0]);
  }

  async deleteBatch(project: string, id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM batches WHERE project = $1 AND id = $2', [project, id])).rowCount ?? 0) > 0;
  }

  async counts(batchId: string): Promise<BatchCounts> {
    const { rows } = await this.pool.query<{ status: number; n: string }>(
      `SELECT status, COUNT(*) AS n FROM batch_items WHERE batch_seq = ${SEQ_OF('$1')} GROUP BY status`,
      [batchId],
    );
    return toCounts(rows);
  }

  async claim(limit: number, o: ClaimOptions): Promise<ClaimedItem[]> {
    const { rows } = await this.pool.query<{ batch_seq: string; idx: number; request: string | null; attempts: number; id: string; project: string; model: string }>(
      `WITH picked AS (
         SELECT i.batch_seq, i.idx FROM batch_items i JOIN batches b ON b.seq = i.batch_seq
          WHERE ((i.status = ${PENDING} AND i.not_before <= $1) OR (i.status = ${RUNNING} AND i.leased_until < $1))
            AND b.state IN ${ACTIVE_SQL} AND b.create_time >= $2
          ORDER BY i.batch_seq, i.idx
          LIMIT $3
          FOR UPDATE OF i SKIP LOCKED
       )
       UPDATE batch_items i SET status = ${RUNNING}, attempts = i.attempts + 1, holder = $4, leased_until = $5
         FROM picked, batches b
        WHERE i.batch_seq = picked.batch_seq AND i.idx = picked.idx AND b.seq = i.batch_seq
       RETURNING i.batch_seq, i.idx, i.request, i.attempts, b.id, b.project, b.model`,
      [o.now, o.createdAfter, limit, o.holder, o.leaseUntil],
    );
    return rows
      .sort((a, b) => Number(a.batch_seq) - Number(b.batch_seq) || a.idx - b.idx)
      .map((r) => ({ batchId: r.id, index: r.idx, project: r.project, model: r.model, request: r.request, error: undefined, attempts: r.attempts }));
  }

  async renew(holder: string, until: number): Promise<number> {
    return (await this.pool.query(`UPDATE batch_items SET leased_until = $2 WHERE status = ${RUNNING} AND holder = $1`, [holder, until])).rowCount ?? 0;
  }

  async complete(batchId: string, index: number, outcome: ItemOutcome): Promise<boolean> {
    const status = 'error' in outcome ? FAILED : SUCCEEDED;
    const res = await this.pool.query(
      `UPDATE batch_items SET status = $1, outcome = $2, holder = NULL, leased_until = NULL
        WHERE batch_seq = ${SEQ_OF('$3')} AND idx = $4 AND status IN (${PENDING}, ${RUNNING})`,
      [status, JSON.stringify(outcome), batchId, index],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async release(batchId: string, index: number, notBefore: number, holder: string): Promise<void> {
    await this.pool.query(
      `UPDATE batch_items SET status = ${PENDING}, attempts = attempts - 1, not_before = $1, holder = NULL, leased_until = NULL
        WHERE batch_seq = ${SEQ_OF('$2')} AND idx = $3 AND status = ${RUNNING} AND holder = $4`,
      [notBefore, batchId, index, holder],
    );
  }

  async requeueRunning(): Promise<number> {
    const res = await this.pool.query(`UPDATE batch_items SET status = ${PENDING}, holder = NULL, leased_until = NULL WHERE status = ${RUNNING}`);
    return res.rowCount ?? 0;
  }

  async results(batchId: string, from = 0, limit = Number.MAX_SAFE_INTEGER): Promise<ItemResult[]> {
    const { rows } = await this.pool.query<ResultRow>(
      `SELECT idx, metadata, outcome FROM batch_items
        WHERE batch_seq = ${SEQ_OF('$1')} AND status IN (${SUCCEEDED}, ${FAILED}) AND idx >= $2
        ORDER BY idx LIMIT $3`,
      [batchId, from, limit],
    );
    return rows.map(toResult);
  }

  async markGenerated(project: string, fileId: string): Promise<void> {
    await this.pool.query('INSERT INTO batch_generated_files (project, file_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [project, fileId]);
  }

  async isGenerated(project: string, fileId: string): Promise<boolean> {
    return ((await this.pool.query('SELECT 1 FROM batch_generated_files WHERE project = $1 AND file_id = $2', [project, fileId])).rowCount ?? 0) > 0;
  }

  /** The pool belongs to the server's database handle, which closes it. */
  async close(): Promise<void> {}
}
