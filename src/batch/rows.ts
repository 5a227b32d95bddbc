/**
 * The row layout both JobStores share (SQLite and PostgreSQL have the same columns): one
 * mapping from a row to a BatchRecord, the item status numbers, and the JSON columns.
 * Metadata and outcomes are stored as JSON text, not PostgreSQL jsonb: jsonb reorders an
 * object's keys, and an answer must come back exactly as it was produced.
 */
import type { BatchCounts, BatchRecord, BatchState, ItemOutcome, ItemResult } from './store.js';

export const PENDING = 0;
export const RUNNING = 1;
export const SUCCEEDED = 2;
export const FAILED = 3;

/** `state IN (…)` of the active states, for SQL text (constants, never user input). */
export const ACTIVE_SQL = "('BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING')";

export interface BatchRow {
  seq: number | string;
  id: string;
  project: string;
  model: string;
  display_name: string | null;
  input_file: string | null;
  state: string;
  responses_file: string | null;
  error_message: string | null;
  request_count: number;
  create_time: number | string;
  update_time: number | string;
  end_time: number | string | null;
}

export const toBatch = (r: BatchRow): BatchRecord => ({
  seq: Number(r.seq),
  id: r.id,
  project: r.project,
  model: r.model,
  displayName: r.display_name ?? undefined,
  input: r.input_file === null ? { kind: 'inline' } : { kind: 'file', fileName: r.input_file },
  state: r.state as BatchState,
  responsesFile: r.responses_file ?? undefined,
  errorMessage: r.error_message ?? undefined,
  requestCount: Number(r.request_count),
  createTime: Number(r.create_time),
  updateTime: Number(r.update_time),
  endTime: r.end_time === null ? undefined : Number(r.end_time),
});

export interface ResultRow {
  idx: number;
  metadata: string | null;
  outcome: string;
}

export const toResult = (r: ResultRow): ItemResult => ({
  index: Number(r.idx),
  metadata: r.metadata === null ? undefined : (JSON.parse(r.metadata) as Record<string, unknown>),
  outcome: JSON.parse(r.outcome) as ItemOutcome,
});

/** Counts from `(status, n)` rows. */
export function toCounts(rows: Array<{ status: number; n: number | string }>): BatchCounts {
  const c: BatchCounts = { total: 0, pending: 0, running: 0, succeeded: 0, failed: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    c.total += n;
    if (Number(r.status) === PENDING) c.pending = n;
    else if (Number(r.status) === RUNNING) c.running = n;
    else if (Number(r.status) === SUCCEEDED) c.succeeded = n;
    else c.failed = n;
  }
  return c;
}

/** The patch's columns, in a fixed order: `[column, value]`. */
export function patchColumns(patch: Partial<Pick<BatchRecord, 'state' | 'responsesFile' | 'errorMessage' | 'updateTime' | 'endTime'>>): Array<[string, unknown]> {
  const cols: Array<[string, unknown]> = [];
  if (patch.state !== undefined) cols.push(['state', patch.state]);
  if ('responsesFile' in patch) cols.push(['responses_file', patch.responsesFile ?? null]);
  if ('errorMessage' in patch) cols.push(['error_message', patch.errorMessage ?? null]);
  if (patch.updateTime !== undefined) cols.push(['update_time', patch.updateTime]);
  if ('endTime' in patch) cols.push(['end_time', patch.endTime ?? null]);
  return cols;
}

/** An item's stored columns at creation: `[metadata, request, status, outcome]`. */
export function itemColumns(item: { metadata: Record<string, unknown> | undefined; request: string | null; error?: unknown }): [string | null, string | null, number, string | null] {
  const preset = item.error ? JSON.stringify({ error: item.error }) : null;
  return [item.metadata ? JSON.stringify(item.metadata) : null, item.request, preset ? FAILED : PENDING, preset];
}
