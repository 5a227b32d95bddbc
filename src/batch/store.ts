/**
 * The durable side of batch mode, as an interface: what a batch is, what each of its
 * requests (items) is, and the few operations the queue and the API need. Two
 * implementations keep one contract (test/batch/store-contract.ts runs on both): SQLite in
 * the data dir (sqlite-store.ts, one server) and PostgreSQL shared by every replica
 * (pg-store.ts, `--database-url`), where any replica claims work and reads progress.
 *
 * The contract that makes restarts and dead replicas safe:
 * - an item is claimed (pending → running) before it runs, under a lease (`holder`,
 *   `leaseUntil`) its worker renews while the request runs; a running item whose lease has
 *   run out is claimable again, so a replica killed mid-request loses nothing and a live
 *   replica's work is never taken from it by another replica's start-up;
 * - one process alone on its store (the embedded SQLite queue) may also make every running
 *   item pending at start (`requeueRunning`): they can only be its own dead process's;
 * - an outcome is written only while the item is not yet done (`complete` is idempotent by
 *   batch and index), so every request runs at least once and the results hold it once;
 * - a batch is finalised once: `beginFinalise` is a conditional take of the batch's
 *   finalisation lease, and the final state a conditional transition from an active state.
 *
 * Asynchronous, like the files' MetaStore: the SQLite store answers at once, the PostgreSQL
 * one (pg-store.ts) over the network; each call is one statement or one transaction.
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

/** The states in which a batch still has work to do. */
export const ACTIVE_STATES: readonly BatchState[] = ['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING'];

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
  /** Claims of this item not ended by a release, this one included. */
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

/** How a claim leases what it takes. */
export interface ClaimOptions {
  now: number;
  /** Who runs the claimed items (one id per queue); renewals and releases name it. */
  holder: string;
  /** The lease's end (epoch ms): after it the item is claimable again. */
  leaseUntil: number;
  /** Items of batches created before this (epoch ms) are not started: their batch has expired. */
  createdAfter: number;
}

export interface JobStore {
  /** The batch and all its items, atomically. */
  createBatch(batch: NewBatch, items: NewItem[]): Promise<BatchRecord>;
  getBatch(project: string, id: string): Promise<BatchRecord | undefined>;
  /** Newest first, strictly after the cursor `after` (a seq). */
  listBatches(project: string, limit: number, after?: number): Promise<BatchPage>;
  /** Batches still to work on (PENDING or RUNNING), oldest first. */
  activeBatches(): Promise<BatchRecord[]>;
  /** Active batches none of whose items is pending or running: ready to be finalised. */
  idleBatches(): Promise<BatchRecord[]>;
  /** The states of these batches (a deleted batch is absent). */
  statesOf(ids: readonly string[]): Promise<Map<string, BatchState>>;
  updateBatch(id: string, patch: BatchPatch): Promise<BatchRecord | undefined>;
  /** Only when the batch is in one of `from` (a state change that must not race another). */
  transition(id: string, from: readonly BatchState[], patch: BatchPatch): Promise<BatchRecord | undefined>;
  /**
   * Takes the batch's finalisation lease until `until`: only while the batch is active and
   * no other holder's finalisation lease is unexpired. The batch, or undefined when not taken.
   */
  beginFinalise(id: string, holder: string, now: number, until: number): Promise<BatchRecord | undefined>;
  deleteBatch(project: string, id: string): Promise<boolean>;
  counts(batchId: string): Promise<BatchCounts>;
  /**
   * Marks up to `limit` items running under the lease and returns them: pending items and
   * running items whose lease has run out, of active batches not expired, oldest batch
   * first, skipping items waiting out a retry (`notBefore` in the future). Concurrent
   * claims never return the same item twice.
   */
  claim(limit: number, opts: ClaimOptions): Promise<ClaimedItem[]>;
  /** Extends the lease of every item `holder` is running to `until`; how many. */
  renew(holder: string, until: number): Promise<number>;
  /** Records the outcome of a running or pending item; false when it was already done. */
  complete(batchId: string, index: number, outcome: ItemOutcome): Promise<boolean>;
  /**
   * Puts an item `holder` is running back to pending, not to be claimed before `notBefore`.
   * The attempt is not counted: `attempts` counts claims that ended without a release, so
   * a request whose worker keeps dying can be told from one the engine was only busy for.
   */
  release(batchId: string, index: number, notBefore: number, holder: string): Promise<void>;
  /** After a crash of the only process on this store: every running item is pending again. */
  requeueRunning(): Promise<number>;
  /** Outcomes of finished items in request order, from index `from`. */
  results(batchId: string, from?: number, limit?: number): Promise<ItemResult[]>;
  /** Files this server generated (responses files), which the download endpoint serves. */
  markGenerated(project: string, fileId: string): Promise<void>;
  isGenerated(project: string, fileId: string): Promise<boolean>;
  close(): Promise<void>;
}
