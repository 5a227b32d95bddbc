/**
 * Batch mode of one server, assembled from the ports the composition root provides: the
 * JobStore (SQLite in the data dir, or PostgreSQL shared by every replica when there is a
 * database), the queue working it, and the service the routes call.
 */
import type { Pool } from '../db/pool.js';
import { PgJobStore } from './pg-store.js';
import type { BatchFiles, ResolveModel, RunRequest, WorkGate } from './ports.js';
import { createQueue } from './queue.js';
import { createBatchService, type BatchService } from './service.js';
import { openSqliteJobStore } from './sqlite-store.js';
import type { JobStore } from './store.js';

export interface BatchModeOptions {
  dataDir: string;
  /** The shared database (`--database-url`): batches live there and every replica works them. */
  database?: Pool | undefined;
  concurrency: number;
  /** A batch not finished this long after creation expires (ms). */
  expiryMs: number;
  /** A claimed request's lease (ms); see queue.ts. */
  leaseMs?: number;
  run: RunRequest;
  files: BatchFiles;
  resolveModel: ResolveModel;
  gate?: WorkGate;
  log?: { warn(obj: unknown, msg: string): void; error(obj: unknown, msg: string): void };
}

export interface BatchMode {
  service: BatchService;
  /** Starts working the queue (call once the server is ready to answer). */
  start(): void;
  /** Stops the queue (running requests are put back) and closes the store. */
  close(): Promise<void>;
}

export function createBatchMode(opts: BatchModeOptions): BatchMode {
  const store: JobStore = opts.database ? new PgJobStore(opts.database) : openSqliteJobStore(opts.dataDir);
  const queue = createQueue({
    store,
    run: opts.run,
    files: opts.files,
    concurrency: opts.concurrency,
    // The SQLite file is this process's alone; a shared database is every replica's.
    exclusive: !opts.database,
    expiryMs: opts.expiryMs,
    ...(opts.leaseMs !== undefined ? { leaseMs: opts.leaseMs } : {}),
    ...(opts.gate ? { gate: opts.gate } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const service = createBatchService({ store, queue, files: opts.files, resolveModel: opts.resolveModel });
  let closed = false;
  return {
    service,
    start: () => queue.start(),
    async close() {
      if (closed) return;
      closed = true;
      await queue.stop();
      await store.close();
    },
  };
}
