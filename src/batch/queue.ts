/**
 * The work side of batch mode. `BatchQueue` is the seam: the embedded queue below works
 * the batches of one server from its SQLite JobStore; a scale-out queue (BullMQ on Redis,
 * pg-boss on PostgreSQL) implements the same four calls over a shared store.
 *
 * The embedded queue:
 * - claims one request at a time from the store (pending → running) while fewer than
 *   `concurrency` run and the gate says the model pool has no interactive request waiting;
 * - runs it through the same generation path as generateContent (RunRequest);
 * - records the answer, or the request's own error, by batch and index (written once);
 * - puts a request back (with a short backoff) when the engine was only busy (429/503),
 *   or when the server is stopping, so it runs again rather than fail;
 * - cancel starts nothing more of the batch; a request already on a model thread is let
 *   finish and its answer dropped, because aborting a running model task ends its worker
 *   thread (piscina), which a native runtime may not survive (seen: onnxruntime's
 *   'terminate called after throwing Napi::Error' took the whole process down). Stopping
 *   waits for running requests the same way, up to `stopGraceMs`, then aborts them (they
 *   are put back and run again at the next start);
 * - finalises a batch when nothing of it is left: SUCCEEDED, with the responses file
 *   written first for file input (under a name derived from the batch, so a finalisation
 *   repeated after a crash finds the file it already wrote);
 * - on start, makes requests left running by a killed process pending again.
 */
import { ApiError, internal, invalidArgument } from '../errors.js';
import type { BatchFiles, RunRequest, WorkGate } from './ports.js';
import type { ClaimedItem, ItemError, JobStore } from './store.js';
import { responseLine } from './wire.js';

export interface BatchQueue {
  /** Makes a newly created batch's requests available to the workers. */
  enqueue(batchId: string): void;
  /** Stops the batch's remaining work: running requests are aborted, pending ones never start. */
  cancel(batchId: string): void;
  /** Starts working (recovering what a previous process left running). */
  start(): void;
  /** Stops taking work and waits for the running requests to be put back or finished. */
  stop(): Promise<void>;
}

export interface EmbeddedQueueOptions {
  store: JobStore;
  run: RunRequest;
  files: BatchFiles;
  /** Requests of batches run at once. */
  concurrency: number;
  gate?: WorkGate;
  /** How often to look again when the gate said no or a retry is waiting (ms). */
  pollMs?: number;
  /** Backoff before a request refused as busy is tried again (ms). */
  retryMs?: number;
  log?: { warn(obj: unknown, msg: string): void; error(obj: unknown, msg: string): void };
  now?: () => number;
  /** How long stop() lets running requests finish before aborting them (ms). Default 15 s. */
  stopGraceMs?: number;
}

const RETRYABLE = new Set(['RESOURCE_EXHAUSTED', 'UNAVAILABLE']);

class Stopping extends Error {}

export function createEmbeddedQueue(opts: EmbeddedQueueOptions): BatchQueue & { readonly inFlight: number } {
  const { store, run, files } = opts;
  const now = opts.now ?? Date.now;
  const pollMs = opts.pollMs ?? 250;
  const retryMs = opts.retryMs ?? 1000;
  const running = new Map<string, { item: ClaimedItem; controller: AbortController; cancelled: boolean; done: Promise<void> }>();
  let started = false;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  const finalising = new Set<string>();

  const keyOf = (i: { batchId: string; index: number }) => `${i.batchId}#${i.index}`;

  function pump(): void {
    if (!started || stopping) return;
    while (running.size < opts.concurrency && (opts.gate?.(running.size) ?? true)) {
      const [item] = store.claim(1, now());
      if (!item) break;
      const controller = new AbortController();
      const entry = { item, controller, cancelled: false, done: Promise.resolve() };
      running.set(keyOf(item), entry);
      entry.done = work(item, controller, () => entry.cancelled).finally(() => {
        running.delete(keyOf(item));
        // Ending the signal frees the request's place in the model pool at once (the
        // route does the same when a response is done).
        controller.abort(new Error('the batch request is complete'));
        queueMicrotask(pump);
      });
    }
  }

  async function work(item: ClaimedItem, controller: AbortController, cancelled: () => boolean): Promise<void> {
    store.transition(item.batchId, ['BATCH_STATE_PENDING'], { state: 'BATCH_STATE_RUNNING', updateTime: now() });
    try {
      let request: unknown;
      try {
        request = item.request === null ? undefined : JSON.parse(item.request);
      } catch {
        request = undefined;
      }
      if (request === undefined) {
        store.complete(item.batchId, item.index, { error: itemError(invalidArgument('The request is not JSON.'), opts.log) });
      } else {
        const response = await run({ project: item.project, model: item.model, request, signal: controller.signal });
        if (cancelled()) return; // the batch was cancelled while this ran: its answer is dropped
        if (controller.signal.aborted) throw controller.signal.reason;
        store.complete(item.batchId, item.index, { response });
      }
    } catch (err) {
      // The engine may throw its own abort error: why the signal was aborted is what counts.
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      if (cancelled()) return; // the batch is cancelled: its requests stay unanswered
      if (reason instanceof Stopping || stopping) {
        store.release(item.batchId, item.index, 0);
        return;
      }
      if (err instanceof ApiError && RETRYABLE.has(err.status)) {
        store.release(item.batchId, item.index, now() + retryMs);
        return;
      }
      store.complete(item.batchId, item.index, { error: itemError(err, opts.log) });
    }
    await finaliseIfDone(item.batchId);
  }

  async function finaliseIfDone(batchId: string): Promise<void> {
    if (finalising.has(batchId)) return;
    const c = store.counts(batchId);
    if (c.pending > 0 || c.running > 0) return;
    finalising.add(batchId);
    try {
      const b = store.transition(batchId, ['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING'], {});
      if (!b) return;
      let responsesFile: string | undefined;
      if (b.input.kind === 'file') {
        const lines = store.results(batchId).map((r) => `${responseLine(r)}\n`);
        try {
          responsesFile = await files.createGenerated(
            b.project,
            `batch-${b.id}`,
            `responses of batches/${b.id}`,
            'application/jsonl',
            Buffer.from(lines.join('')),
          );
          store.markGenerated(b.project, responsesFile.replace(/^files\//, ''));
        } catch (err) {
          opts.log?.error({ err, batch: b.id }, 'could not write the responses file');
          store.transition(batchId, ['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING'], {
            state: 'BATCH_STATE_FAILED',
            errorMessage: `The responses file could not be written: ${(err as Error).message}`,
            updateTime: now(),
            endTime: now(),
          });
          return;
        }
      }
      store.transition(batchId, ['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING'], {
        state: 'BATCH_STATE_SUCCEEDED',
        ...(responsesFile ? { responsesFile } : {}),
        updateTime: now(),
        endTime: now(),
      });
    } finally {
      finalising.delete(batchId);
    }
  }

  return {
    get inFlight() {
      return running.size;
    },
    enqueue() {
      pump();
    },
    cancel(batchId) {
      for (const entry of running.values()) if (entry.item.batchId === batchId) entry.cancelled = true;
    },
    start() {
      if (started) return;
      started = true;
      const requeued = store.requeueRunning();
      if (requeued > 0) opts.log?.warn({ requests: requeued }, 'batch requests left running by the previous process will run again');
      // Batches whose last request finished just before a crash still need their final state.
      for (const b of store.activeBatches()) void finaliseIfDone(b.id);
      timer = setInterval(pump, pollMs);
      timer.unref();
      pump();
    },
    async stop() {
      stopping = true;
      clearInterval(timer);
      const all = Promise.all([...running.values()].map((e) => e.done));
      let graceTimer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (graceTimer = setTimeout(() => resolve('late'), opts.stopGraceMs ?? 15_000)));
      if ((await Promise.race([all, late])) === 'late') {
        for (const entry of running.values()) entry.controller.abort(new Stopping('the server is stopping'));
        await all;
      }
      clearTimeout(graceTimer);
    },
  };
}

function itemError(err: unknown, log: EmbeddedQueueOptions['log']): ItemError {
  if (!(err instanceof ApiError)) log?.error({ err }, 'batch request failed');
  const e = err instanceof ApiError ? err : internal(undefined, err);
  return { code: e.httpStatus, message: e.message, status: e.status };
}
