/**
 * Batch mode on one server: the SQLite JobStore in the data dir, the embedded queue and
 * the service, assembled from the ports the composition root provides.
 */
import type { BatchFiles, ResolveModel, RunRequest, WorkGate } from './ports.js';
import { createEmbeddedQueue } from './queue.js';
import { createBatchService, type BatchService } from './service.js';
import { openSqliteJobStore } from './sqlite-store.js';

export interface EmbeddedBatchOptions {
  dataDir: string;
  concurrency: number;
  run: RunRequest;
  files: BatchFiles;
  resolveModel: ResolveModel;
  gate?: WorkGate;
  log?: { warn(obj: unknown, msg: string): void; error(obj: unknown, msg: string): void };
}

export interface EmbeddedBatch {
  service: BatchService;
  /** Starts working the queue (call once the server is ready to answer). */
  start(): void;
  /** Stops the queue (running requests are put back for the next start) and closes the store. */
  close(): Promise<void>;
}

export function createEmbeddedBatch(opts: EmbeddedBatchOptions): EmbeddedBatch {
  const store = openSqliteJobStore(opts.dataDir);
  const queue = createEmbeddedQueue({
    store,
    run: opts.run,
    files: opts.files,
    concurrency: opts.concurrency,
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
      store.close();
    },
  };
}
