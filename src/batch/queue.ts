/**
 * The work side of batch mode. `BatchQueue` is the seam the service uses; one queue works
 * the batches of a JobStore, whether the store is this server's SQLite file (embedded) or
 * PostgreSQL shared by every replica (scale-out): the store's claims and leases are what
 * make several queues on one store safe, not anything in here.
 *
 * A queue:
 * - claims one request at a time (pending → running under this queue's lease) while fewer
 *   than `concurrency` run and the gate says the model pool has no interactive request
 *   waiting; it renews the leases of what it runs every `leaseMs / 3`, so only a dead or
 *   stalled worker's requests become claimable again (by any replica);
 * - runs each through the same generation path as generateContent (RunRequest);
 * - records the answer, or the request's own error, by batch and index (written once);
 * - puts a request back (with a short backoff) when the engine was only busy (429/503),
 *   or when the server is stopping, so it runs again rather than fail;
 * - cancel starts nothing more of the batch; a request already on a model thread is let
 *   finish and its answer dropped, because aborting a running model task ends its worker
 *   thread (piscina), which a native runtime may not survive (seen: onnxruntime's
 *   'terminate called after throwing Napi::Error' took the whole process down). A cancel,
 *   delete or expiry made on another replica is seen by polling the states of the batches
 *   this queue is running every `watchMs` (one indexed query; chosen over LISTEN/NOTIFY,
 *   which needs a dedicated connection per replica, is lost with it, and does not exist on
 *   SQLite, while the claim already refuses every pending item of a final batch at once).
 *   Stopping waits for running requests the same way, up to `stopGraceMs`, then aborts them
 *   (they are put back and run again);
 * - finalises a batch when nothing of it is left: SUCCEEDED, with the responses file
 *   written first for file input (under a name derived from the batch, so a finalisation
 *   repeated after a crash finds the file it already wrote), once across replicas (the
 *   store's finalisation lease). A sweep every `sweepMs` finalises batches whose last
 *   request was answered by a replica that died before finalising, and expires batches
 *   older than `expiryMs` (BATCH_STATE_EXPIRED; their pending requests never start, the
 *   answers already written are kept, in the responses file for file input);
 * - on start, when it is alone on its store (`exclusive`, the embedded SQLite queue), makes
 *   requests left running by its own killed process pending again at once rather than wait
 *   for their leases to run out.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ApiError, internal, invalidArgument } from '../errors.js';
import type { BatchFiles, RunRequest, WorkGate } from './ports.js';
import { ACTIVE_STATES, isFinal, type BatchState, type ClaimedItem, type ItemError, type ItemOutcome, type JobStore } from './store.js';
import { responseLine } from './wire.js';

export interface BatchQueue {
  /** Makes a newly created batch's requests available to the workers. */
  enqueue(batchId: string): void;
  /** Stops the batch's remaining work here: running requests' answers are dropped, pending ones never start. */
  cancel(batchId: string): void;
  /** Starts working (recovering what a previous process left running). */
  start(): void;
  /** Stops taking work and waits for the running requests to be put back or finished. */
  stop(): Promise<void>;
}

export interface QueueOptions {
  store: JobStore;
  run: RunRequest;
  files: BatchFiles;
  /** Requests of batches run at once. */
  concurrency: number;
  /** Only this process works the store: requests left running at start are its own dead process's. */
  exclusive: boolean;
  gate?: WorkGate;
  /** How often to look again when the gate said no or a retry is waiting (ms). */
  pollMs?: number;
  /** Backoff before a request refused as busy is tried again (ms). */
  retryMs?: number;
  /** A claimed request's lease (ms): renewed every third of it while it runs. Default 30 s. */
  leaseMs?: number;
  /** How often the states of the batches being run are checked (cancel elsewhere; ms). Default 1 s. */
  watchMs?: number;
  /** How often batches left unfinalised or past their expiry are looked for (ms). Default 5 s. */
  sweepMs?: number;
  /** A batch not finished this long after its creation expires (ms). Default 48 h, as Gemini. */
  expiryMs?: number;
  log?: { warn(obj: unknown, msg: string): void; error(obj: unknown, msg: string): void };
  now?: () => number;
  /** How long stop() lets running requests finish before aborting them (ms). Default 15 s. */
  stopGraceMs?: number;
  /** A request claimed this many times without an answer (its worker died each time) is recorded as failed. Default 5. */
  maxAttempts?: number;
}

const RETRYABLE = new Set(['RESOURCE_EXHAUSTED', 'UNAVAILABLE']);
export const DEFAULT_EXPIRY_MS = 48 * 3_600_000;
/** How long one replica may take to write a responses file before another may try. */
const FINALISE_LEASE_MS = 120_000;

class Stopping extends Error {}

interface Running {
  item: ClaimedItem;
  controller: AbortController;
  cancelled: boolean;
  done: Promise<void>;
}

export function createQueue(opts: QueueOptions): BatchQueue & { readonly inFlight: number; readonly holder: string } {
  const { store, run, files } = opts;
  const now = opts.now ?? Date.now;
  const pollMs = opts.pollMs ?? 250;
  const retryMs = opts.retryMs ?? 1000;
  const leaseMs = opts.leaseMs ?? 30_000;
  const watchMs = opts.watchMs ?? 1000;
  const sweepMs = opts.sweepMs ?? 5000;
  const expiryMs = opts.expiryMs ?? DEFAULT_EXPIRY_MS;
  const maxAttempts = opts.maxAttempts ?? 5;
  // Names the process (host/pid) so an operator, or a test, can tell which replica holds what.
  const holder = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  const running = new Map<string, Running>();
  const timers: NodeJS.Timeout[] = [];
  let started = false;
  let stopping = false;
  let pumping = false;
  let pumpAgain = false;
  const finalising = new Set<string>();
  /** Batches this queue has already moved to RUNNING (forgotten when they end here). */
  const markedRunning = new Set<string>();

  const keyOf = (i: { batchId: string; index: number }) => `${i.batchId}#${i.index}`;
  const warn = (err: unknown, msg: string) => opts.log?.warn({ err: (err as Error)?.message ?? err }, msg);

  async function pump(): Promise<void> {
    if (!started || stopping) return;
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        while (!stopping && running.size < opts.concurrency && (opts.gate?.(running.size) ?? true)) {
          const t = now();
          const [item] = await store.claim(1, { now: t, holder, leaseUntil: t + leaseMs, createdAfter: t - expiryMs });
          if (!item) break;
          if (stopping) {
            await store.release(item.batchId, item.index, 0, holder);
            break;
          }
          begin(item);
        }
      } while (pumpAgain && !stopping);
    } catch (err) {
      warn(err, 'batch queue could not claim work; trying again');
    } finally {
      pumping = false;
    }
  }

  function begin(item: ClaimedItem): void {
    const controller = new AbortController();
    const entry: Running = { item, controller, cancelled: false, done: Promise.resolve() };
    running.set(keyOf(item), entry);
    entry.done = work(item, controller, () => entry.cancelled)
      .catch((err: unknown) => warn(err, 'batch request could not be recorded; it runs again when its lease ends'))
      .finally(() => {
        running.delete(keyOf(item));
        // Ending the signal frees the request's place in the model pool at once (the
        // route does the same when a response is done).
        controller.abort(new Error('the batch request is complete'));
        queueMicrotask(() => void pump());
      });
  }

  async function work(item: ClaimedItem, controller: AbortController, cancelled: () => boolean): Promise<void> {
    // One conditional UPDATE per batch and queue, not per request (a round trip each on PostgreSQL).
    if (!markedRunning.has(item.batchId)) {
      await store.transition(item.batchId, ['BATCH_STATE_PENDING'], { state: 'BATCH_STATE_RUNNING', updateTime: now() });
      markedRunning.add(item.batchId);
    }
    const next = await attempt(item, controller, cancelled);
    if (next === 'dropped') return; // the batch is cancelled: its requests stay unanswered
    if ('retryAt' in next) return store.release(item.batchId, item.index, next.retryAt, holder);
    // Recorded apart from the attempt: a store error here must not be written as the request's error.
    await store.complete(item.batchId, item.index, next);
    await finalise(item.batchId, 'BATCH_STATE_SUCCEEDED');
  }

  /** Runs the request: its outcome, a time to try it again, or 'dropped' (cancelled). */
  async function attempt(item: ClaimedItem, controller: AbortController, cancelled: () => boolean): Promise<ItemOutcome | { retryAt: number } | 'dropped'> {
    let request: unknown;
    try {
      request = item.request === null ? undefined : JSON.parse(item.request);
    } catch {
      request = undefined;
    }
    if (request === undefined) return { error: itemError(invalidArgument('The request is not JSON.'), opts.log) };
    // A request that takes its worker down with it would otherwise go round the replicas for ever.
    if (item.attempts > maxAttempts) {
      opts.log?.error({ batch: item.batchId, index: item.index, attempts: item.attempts - 1 }, 'batch request failed: its worker stopped every time it ran');
      return { error: itemError(internal(`The request was started ${maxAttempts} times and its worker stopped each time before answering.`), opts.log) };
    }
    try {
      const response = await run({ project: item.project, model: item.model, request, signal: controller.signal });
      if (cancelled()) return 'dropped'; // the batch was cancelled while this ran: its answer is dropped
      if (controller.signal.aborted) throw controller.signal.reason;
      return { response };
    } catch (err) {
      // The engine may throw its own abort error: why the signal was aborted is what counts.
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      if (cancelled()) return 'dropped';
      if (reason instanceof Stopping || stopping) return { retryAt: 0 };
      if (err instanceof ApiError && RETRYABLE.has(err.status)) return { retryAt: now() + retryMs };
      return { error: itemError(err, opts.log) };
    }
  }

  /** Ends an active batch once: SUCCEEDED when nothing of it is left, or EXPIRED. */
  async function finalise(batchId: string, target: 'BATCH_STATE_SUCCEEDED' | 'BATCH_STATE_EXPIRED'): Promise<void> {
    if (finalising.has(batchId)) return;
    finalising.add(batchId);
    try {
      if (target === 'BATCH_STATE_SUCCEEDED') {
        const c = await store.counts(batchId);
        if (c.pending > 0 || c.running > 0) return;
      }
      const b = await store.beginFinalise(batchId, holder, now(), now() + FINALISE_LEASE_MS);
      if (!b) return; // final already, or another replica is finalising it
      let responsesFile: string | undefined;
      if (b.input.kind === 'file') {
        const lines = (await store.results(batchId)).map((r) => `${responseLine(r)}\n`);
        try {
          responsesFile = await files.createGenerated(b.project, `batch-${b.id}`, `responses of batches/${b.id}`, 'application/jsonl', Buffer.from(lines.join('')));
          await store.markGenerated(b.project, responsesFile.replace(/^files\//, ''));
        } catch (err) {
          opts.log?.error({ err, batch: b.id }, 'could not write the responses file');
          await store.transition(batchId, ACTIVE_STATES, {
            state: 'BATCH_STATE_FAILED',
            errorMessage: `The responses file could not be written: ${(err as Error).message}`,
            updateTime: now(),
            endTime: now(),
          });
          return;
        }
      }
      await store.transition(batchId, ACTIVE_STATES, { state: target, ...(responsesFile ? { responsesFile } : {}), updateTime: now(), endTime: now() });
      markedRunning.delete(batchId);
    } finally {
      finalising.delete(batchId);
    }
  }

  /** Marks the running requests of batches that are no longer active (cancelled, deleted or expired anywhere). */
  async function watch(): Promise<void> {
    const ids = [...new Set([...running.values()].map((e) => e.item.batchId))];
    if (ids.length === 0) return;
    const states = await store.statesOf(ids);
    for (const id of ids) {
      const state: BatchState | undefined = states.get(id);
      if (state === undefined || isFinal(state)) {
        cancelLocal(id);
        markedRunning.delete(id);
      }
    }
  }

  async function sweep(): Promise<void> {
    const cutoff = now() - expiryMs;
    for (const b of await store.activeBatches()) if (b.createTime < cutoff) await finalise(b.id, 'BATCH_STATE_EXPIRED');
    for (const b of await store.idleBatches()) await finalise(b.id, 'BATCH_STATE_SUCCEEDED');
  }

  function cancelLocal(batchId: string): void {
    for (const entry of running.values()) if (entry.item.batchId === batchId) entry.cancelled = true;
  }

  /** Runs `fn` every `ms`, never two at once, logging rather than throwing. */
  function every(ms: number, fn: () => Promise<unknown>, what: string, whileStopping = false): NodeJS.Timeout {
    let busy = false;
    const t = setInterval(() => {
      if (busy || (stopping && !whileStopping)) return;
      busy = true;
      fn()
        .catch((err: unknown) => warn(err, what))
        .finally(() => (busy = false));
    }, ms);
    t.unref();
    timers.push(t);
    return t;
  }

  return {
    get inFlight() {
      return running.size;
    },
    holder,
    enqueue() {
      void pump();
    },
    cancel: cancelLocal,
    start() {
      if (started) return;
      started = true;
      void (async () => {
        if (opts.exclusive) {
          const requeued = await store.requeueRunning();
          if (requeued > 0) opts.log?.warn({ requests: requeued }, 'batch requests left running by the previous process will run again');
        }
        // Batches whose last request finished just before a crash still need their final state.
        await sweep();
      })()
        .catch((err: unknown) => warn(err, 'batch queue start-up sweep failed'))
        .finally(() => void pump());
      every(pollMs, pump, 'batch queue could not claim work');
      // Renewed while stop() waits for running requests too: they are still this queue's.
      every(Math.max(50, Math.floor(leaseMs / 3)), () => (running.size > 0 ? store.renew(holder, now() + leaseMs) : Promise.resolve(0)), 'batch leases could not be renewed', true);
      every(watchMs, watch, 'batch states could not be checked');
      every(sweepMs, sweep, 'batch sweep failed');
    },
    async stop() {
      stopping = true;
      const all = Promise.all([...running.values()].map((e) => e.done));
      let graceTimer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (graceTimer = setTimeout(() => resolve('late'), opts.stopGraceMs ?? 15_000)));
      if ((await Promise.race([all, late])) === 'late') {
        for (const entry of running.values()) entry.controller.abort(new Stopping('the server is stopping'));
        await all;
      }
      clearTimeout(graceTimer);
      for (const t of timers) clearInterval(t);
    },
  };
}

function itemError(err: unknown, log: QueueOptions['log']): ItemError {
  if (!(err instanceof ApiError)) log?.error({ err }, 'batch request failed');
  const e = err instanceof ApiError ? err : internal(undefined, err);
  return { code: e.httpStatus, message: e.message, status: e.status };
}
