/**
 * The durable side of batch mode, as an interface: what a batch is, what each of its
 * requests (items) is, and the few operations the queue and the API need. The embedded
 * implementation is SQLite (sqlite-store.ts); a scale-out one keeps the same contract on a
 * shared database (PostgreSQL) so any replica can read progress and write results.
 *
 * The contract that makes restarts safe: an item is claimed (pending → running) before it
 * runs, a running item whose worker died is made pending again (`requeueRunning`), and an
 * outcome is written only while the item is not yet done (`complete` is idempotent by
 * batch and index). So every request runs at least once and the results hold it once.
 */

export const BATCH_STATES = [
  'BATCH_STATE_PENDING',
  'BATCH_STATE_RUNNING',
  'BATCH_STATE_SUCCEEDED',
  'BATCH_STATE_FAILED',
  'BATCH_STATE_CANCELLED',
  'BATCH_STATE_EXPIRED',
] as const;
export type BatchState = (typeof BATCH_STATES)[number];

export const isFinal = (s: BatchState): boolean => s !== 'BATCH_STATE_PENDING' && s !== 'BATCH_STATE_RUNNING';

/** Where the requests came from: the create body (answers inline) or a JSONL file (answers in a file). */
export type BatchInput = { kind: 'inline' } | { kind: 'file'; fileName: string };

/** Times are epoch milliseconds. */
export interface BatchRecord {
  /** Creation order; the list order and page cursor. */
  seq: number;
  /** The `{id}` of `batches/{id}`. */
  id: string;
  project: string;
  /** `models/{id}` as resolved at creation. */
  model: string;
  displayName: string | undefined;
  input: BatchInput;
  state: BatchState;
  /** `files/{id}` of the responses file, once written (file input only). */
  responsesFile: string | undefined;
  /** Why the batch FAILED (an error of the batch as a whole, never of one request). */
  errorMessage: string | undefined;
  requestCount: number;
  createTime: number;
  updateTime: number;
  endTime: number | undefined;
}

export type NewBatch = Omit<BatchRecord, 'seq' | 'responsesFile' | 'errorMessage' | 'endTime' | 'state' | 'updateTime'>;

export interface NewItem {
  /** The request's `metadata` (inline) or `{key}` (file line), echoed with its answer. */
  metadata: Record<string, unknown> | undefined;
  /** The request as JSON text; null when the input line was not a request (its error is preset). */
  request: string | null;
  /** An error known at creation (an input line that is not JSON): recorded without running. */
  error?: ItemError | undefined;
}

export interface ItemError {
  code: number;
  message: string;
  status: string;
}

export type ItemOutcome = { response: unknown } | { error: ItemError };

export interface ClaimedItem {
  batchId: string;
  index: number;
  project: string;
  model: string;
  request: string | null;
  error: ItemError | undefined;
  attempts: number;
}

export interface ItemResult {
  index: number;
  metadata: Record<string, unknown> | undefined;
  outcome: ItemOutcome;
}

export interface BatchCounts {
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
}

export interface BatchPage {
  batches: BatchRecord[];
  nextAfter: number | undefined;
}

export type BatchPatch = Partial<Pick<BatchRecord, 'state' | 'responsesFile' | 'errorMessage' | 'updateTime' | 'endTime'>>;

/** Synchronous on purpose, like the files' MetaStore: each call is one short statement or transaction. */
export interface JobStore {
  /** The batch and all its items, atomically. */
  createBatch(batch: NewBatch, items: NewItem[]): BatchRecord;
  getBatch(project: string, id: string): BatchRecord | undefined;
  /** Newest first, strictly after the cursor `after` (a seq). */
  listBatches(project: string, limit: number, after?: number): BatchPage;
  /** Batches still to work on (PENDING or RUNNING), oldest first. */
  activeBatches(): BatchRecord[];
  updateBatch(id: string, patch: BatchPatch): BatchRecord | undefined;
  /** Only when the batch is in one of `from` (a state change that must not race another). */
  transition(id: string, from: readonly BatchState[], patch: BatchPatch): BatchRecord | undefined;
  deleteBatch(project: string, id: string): boolean;
  counts(batchId: string): BatchCounts;
  /**
   * Marks up to `limit` pending items running and returns them: items of active batches,
   * oldest batch first, skipping items waiting out a retry (`notBefore` in the future).
   */
  claim(limit: number, now: number): ClaimedItem[];
  /** Records the outcome of a running or pending item; false when it was already done. */
  complete(batchId: string, index: number, outcome: ItemOutcome): boolean;
  /** Puts a running item back to pending, not to be claimed before `notBefore`. */
  release(batchId: string, index: number, notBefore: number): void;
  /** After a crash: every running item is pending again (its worker is gone). */
  requeueRunning(): number;
  /** Outcomes of finished items in request order, from index `from`. */
  results(batchId: string, from?: number, limit?: number): ItemResult[];
  /** Files this server generated (responses files), which the download endpoint serves. */
  markGenerated(project: string, fileId: string): void;
  isGenerated(project: string, fileId: string): boolean;
  close(): void;
}
