/**
 * Model inference off the event loop: a fixed set of worker threads (piscina), each
 * holding its own loaded models, behind a bounded queue (admission.ts). When the queue is
 * full the caller gets 429 RESOURCE_EXHAUSTED with Retry-After instead of an ever-growing
 * backlog; a task that waited past the queue-time budget gets 503.
 *
 * Threads: `threads` workers, each running its models (onnxruntime) on `intraOpThreads`
 * threads. Measured on 2 cores when the machine was quiet (docs/detectors.md, bench suite
 * "vision"): 2 workers × 1 thread served 30.5 captions/s at concurrency 8 against 23.0 for
 * 1 × 2 and 19.0 for 2 × 2, with the same single-request latency (40–45 ms). Under heavy
 * outside load 2 threads per model did better; the default follows the quiet figures and
 * spreads the cores over the workers (cores / workers, at least 1).
 *
 * The image crosses to the worker once (its pixels transferred, not cloned). SAM encoder
 * outputs are cached here per image (segment/embedding-cache.ts), in shared memory, so a
 * second segmentation of the same photo on any worker skips the encoder.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { unavailable } from '../errors.js';
import { Admission } from './admission.js';
import type { Analysis, AnalysisNeeds, MaskHelp, RawImage } from './analysis.js';
import type { MessagePort } from 'node:worker_threads';
import type { FollowUpHelp } from './detect/follow-up.js';
import { LENDING_DETECTORS } from './detect/ids.js';
import { allClaimed, answerOffer, openOffer, openShare, type WorkShare } from './shared-work.js';
import type { ModelSelection } from './model-selection.js';
import { DEFAULT_EMBEDDING_CACHE_BYTES, EmbeddingCache, imageKey } from './segment/embedding-cache.js';
import type { SamEmbedding } from './segment/sam.js';

export interface VisionPoolOptions {
  threads?: number;
  /** Requests waiting beyond the running ones; more are refused. */
  maxQueue?: number;
  /** Longest a task may wait for a thread before it fails with 503. Default 30 s. */
  queueTimeoutMs?: number;
  models: ModelSelection;
  /**
   * onnxruntime intra-op threads per model in each worker. Default: OCELLUS_VISION_INTRA_THREADS,
   * else the cores divided among the workers (at least 1).
   */
  intraOpThreads?: number;
  /**
   * Intra-op threads of SAM's encoder when no other request is running (a second session per
   * worker, segment/sam.ts); 0: none. Default: the cores, when that is more than intraOpThreads.
   */
  wideEncoderThreads?: number;
  /** Bytes of SAM encoder outputs kept for repeat segmentations (0: none). Default 64 MiB. */
  embeddingCacheBytes?: number;
  /**
   * Whether a request's independent work (the fused default's SSD half, SAM's boxes) is
   * shared with a second worker when one is free (shared-work.ts). Default true with 2+
   * threads; false is for measuring the difference.
   */
  shareWork?: boolean;
  /** Receives each analysis's stage timings at debug level (e.g. the server's pino logger). */
  logger?: { debug(obj: object, msg: string): void };
}

export interface WorkerTask {
  /**
   * `lend`: the helper of a lent detection (shared-work.ts), with the share in `needs.detect`;
   * `masks`: the helper of a shared segmentation, with `maskHelp` and `maskShare`;
   * `follow-up`: the helper of a detection's label check and closer looks, with `image`,
   * `followUpHelp` and `followUpShare`.
   */
  kind: 'analyse' | 'lend' | 'masks' | 'follow-up' | 'warm';
  image?: RawImage;
  needs?: AnalysisNeeds;
  /** The SAM encoder's output for this image, when the pool has it. */
  samEmbedding?: SamEmbedding;
  maskHelp?: MaskHelp;
  maskShare?: WorkShare;
  followUpHelp?: FollowUpHelp;
  followUpShare?: WorkShare;
}

/** What a worker answers: the analysis, plus the SAM embedding it computed (for the cache). */
export type WorkerResult = Analysis & { samEmbedding?: SamEmbedding };

/** Intra-op threads per model: the cores spread over the workers (at least 1), unless configured. */
export function defaultIntraOpThreads(workers: number, cores = availableParallelism(), env = process.env.OCELLUS_VISION_INTRA_THREADS): number {
  const configured = Number(env);
  if (env !== undefined && Number.isInteger(configured) && configured >= 1) return configured;
  return Math.max(1, Math.floor(cores / Math.max(1, workers)));
}

/**
 * Threads of SAM's wide encoder session (used when no other request is running): every core, when
 * there are more workers than one to lend theirs; 0 (none) otherwise. OCELLUS_SAM_WIDE_THREADS
 * overrides it (0 turns it off: it costs each worker a second encoder session, ~200 MB once used).
 */
export function defaultWideEncoderThreads(workers: number, intraOpThreads: number, cores = availableParallelism(), env = process.env.OCELLUS_SAM_WIDE_THREADS): number {
  const configured = Number(env);
  if (env !== undefined && env !== '' && Number.isInteger(configured) && configured >= 0) return configured;
  return workers > 1 && cores > intraOpThreads ? cores : 0;
}

export class VisionPool {
  private readonly pool: Piscina;
  private readonly admission: Admission;
  readonly threads: number;
  readonly intraOpThreads: number;
  private readonly embeddings: EmbeddingCache | undefined;
  private readonly logger: VisionPoolOptions['logger'];
  /** Whether work is shared with a second worker (shared-work.ts): there is one, and it is not turned off. */
  private readonly shares: boolean;
  /** Whether a detection lends a part to a helper task: its detector has one. */
  private readonly lends: boolean;
  private warmed: Promise<void> | undefined;
  /** Whether SAM's encoder has a wide session, for segmentations that run with nothing else admitted. */
  private readonly wideSam: boolean;

  constructor(opts: VisionPoolOptions) {
    this.threads = opts.threads ?? Math.max(1, Math.min(2, availableParallelism()));
    this.intraOpThreads = opts.intraOpThreads ?? defaultIntraOpThreads(this.threads);
    const cacheBytes = opts.embeddingCacheBytes ?? DEFAULT_EMBEDDING_CACHE_BYTES;
    this.embeddings = opts.models.segment && cacheBytes > 0 ? new EmbeddingCache(cacheBytes) : undefined;
    this.logger = opts.logger;
    const detector = opts.models.detector;
    this.shares = (opts.shareWork ?? true) && this.threads > 1;
    this.lends = this.shares && detector !== null && (LENDING_DETECTORS as readonly string[]).includes(detector) && opts.models.detectorRuntime !== 'tfjs';
    const wide = opts.models.segment ? (opts.wideEncoderThreads ?? defaultWideEncoderThreads(this.threads, this.intraOpThreads)) : 0;
    this.wideSam = wide > this.intraOpThreads;
    const filename = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url).href;
    this.pool = new Piscina({
      filename,
      minThreads: this.threads,
      maxThreads: this.threads,
      // Admission hands piscina at most one task per thread; its own queue stays empty.
      maxQueue: this.threads * 2,
      idleTimeout: Infinity,
      workerData: { models: { ...opts.models, intraOpThreads: opts.models.intraOpThreads ?? this.intraOpThreads, ...(wide > 0 ? { wideEncoderThreads: wide } : {}) } },
      // Under tsx/vitest the worker is TypeScript source; built code needs no loader.
      execArgv: filename.endsWith('.ts') ? ['--import', 'tsx'] : [],
    });
    this.admission = new Admission({
      concurrency: this.threads,
      maxQueue: opts.maxQueue ?? this.threads * 8,
      ...(opts.queueTimeoutMs !== undefined ? { queueTimeoutMs: opts.queueTimeoutMs } : {}),
    });
  }

  /** Loads and warms the models in every thread; resolves when all can answer. */
  warm(): Promise<void> {
    this.warmed ??= Promise.all(Array.from({ length: this.threads }, () => this.pool.run({ kind: 'warm' } satisfies WorkerTask))).then(
      () => undefined,
    );
    return this.warmed;
  }

  /**
   * Runs the models on one image. `signal` is the request's: tasks with the same signal are
   * admitted as one request (see admission.ts).
   */
  async analyse(image: RawImage, needs: AnalysisNeeds, signal?: AbortSignal): Promise<Analysis> {
    // Hashed off the event loop, and before taking a worker slot.
    const key = needs.segment && this.embeddings ? await imageKey(image) : undefined;
    // Queued before the helper, so the request's own task starts first (admission keeps a request's tasks in order).
    const loan = needs.detect && this.lends ? openShare() : undefined;
    // Masks of several boxes: once the encoder has run, the other worker takes boxes too.
    const masks = needs.segment && this.shares ? openOffer() : undefined;
    // The label check and closer looks after the detector: the other worker takes some too.
    const looks = needs.detect && this.shares ? openOffer() : undefined;
    let ownNeeds: AnalysisNeeds = needs;
    if (needs.detect && (loan || looks)) ownNeeds = { ...ownNeeds, detect: { ...needs.detect, ...(loan ? { share: loan.owner } : {}), ...(looks ? { followUp: looks.owner } : {}) } };
    if (masks) ownNeeds = { ...ownNeeds, segment: { ...needs.segment, share: masks.owner } };
    const ports: MessagePort[] = [loan?.owner.port, masks?.owner.work.port, masks?.owner.ready, looks?.owner.work.port, looks?.owner.ready].filter((p) => p !== undefined);
    // Admission counts tasks with one signal as one request: a caller without a signal still
    // gets one for its task and the helpers, released once all are done.
    const ticket = (loan || masks || looks) && !signal ? new AbortController() : undefined;
    const admitAs = signal ?? ticket?.signal;
    // Each helper is queued when its owner asks (posts what the helper needs).
    const settleMasks =
      masks &&
      answerOffer(masks, (help: MaskHelp) =>
        // The embedding is in shared memory: nothing to copy or transfer but the port.
        this.help(masks.helper, help.boxes.length, admitAs, () => ({ task: { kind: 'masks', maskHelp: help, maskShare: masks.helper }, transfer: [] })),
      );
    const settleLooks =
      looks &&
      answerOffer(looks, (help: FollowUpHelp) =>
        this.help(looks.helper, help.items.length, admitAs, () => {
          const pixels = new Uint8Array(image.rgb);
          return { task: { kind: 'follow-up', image: { width: image.width, height: image.height, rgb: pixels }, followUpHelp: help, followUpShare: looks.helper }, transfer: [pixels.buffer] };
        }),
      );
    // The signal is not handed to piscina: aborting a running task terminates its worker
    // thread, and onnxruntime inside it can take the whole process down with it
    // ("terminate called after throwing Napi::Error"). A request that goes away stops waiting
    // at once; its task finishes on the worker (keeping its thread slot, so piscina never gets
    // more tasks than threads) and the result is dropped.
    const work = this.admission.run(admitAs, async () => {
      // A copy goes to the worker (the caller's pixels may be shared with the decode cache),
      // made only once the task runs, so waiting requests hold no extra copies; the copy is
      // transferred, so the pixels cross once and are not cloned again.
      const pixels = new Uint8Array(image.rgb);
      const cached = key ? this.embeddings!.get(key) : undefined;
      // Nothing but this request admitted: its encoder may take the other worker's core too.
      const wide = ownNeeds.segment && this.wideSam && this.admission.stats().admitted <= 1;
      const task: WorkerTask = {
        kind: 'analyse',
        image: { width: image.width, height: image.height, rgb: pixels },
        needs: wide ? { ...ownNeeds, segment: { ...ownNeeds.segment, wide: true } } : ownNeeds,
        ...(cached ? { samEmbedding: cached } : {}),
      };
      const started = performance.now();
      let result: WorkerResult;
      try {
        result = (await this.pool.run(task, { transferList: [pixels.buffer, ...ports] })) as WorkerResult;
      } catch (err) {
        if (err instanceof Error && /terminated|closed/i.test(err.message)) throw unavailable('The vision engine is restarting.', 2);
        throw err;
      }
      const { samEmbedding, ...analysis } = result;
      if (key && samEmbedding) this.embeddings!.set(key, samEmbedding);
      this.logger?.debug(
        {
          width: image.width,
          height: image.height,
          totalMs: round1(performance.now() - started),
          times: roundAll(analysis.times),
          ...(analysis.detectStages ? { detectStages: roundAll(analysis.detectStages) } : {}),
          ...(key ? { samCache: cached ? 'hit' : 'miss' } : {}),
          ...(analysis.samEncodeThreads ? { samEncodeThreads: analysis.samEncodeThreads } : {}),
        },
        'vision analysis stages (ms)',
      );
      return analysis;
    });
    const lent =
      loan &&
      this.help(loan.helper, 1, admitAs, () => {
        const pixels = new Uint8Array(image.rgb);
        return { task: { kind: 'lend', image: { width: image.width, height: image.height, rgb: pixels }, needs: { detect: { ...needs.detect, share: loan.helper } } }, transfer: [pixels.buffer] };
      });
    void work
      .catch(() => undefined)
      .then(async () => {
        await Promise.allSettled([lent, settleMasks?.(), settleLooks?.()]);
        ticket?.abort();
      });
    return untilAborted(work, signal);
  }

  /**
   * Queues a helper task (shared-work.ts) for the request of `signal`: it runs on whichever
   * worker is free first, unless the owner has claimed all `count` items by then (then it
   * never goes to a worker, and its copies are never made). Its failures only mean the owner
   * runs those items itself, so they are not the request's.
   */
  private async help(share: WorkShare, count: number, signal: AbortSignal | undefined, make: () => { task: WorkerTask; transfer: ArrayBuffer[] }): Promise<void> {
    let sent = false;
    try {
      await this.admission.run(signal, async () => {
        if (allClaimed(share, count)) return;
        const { task, transfer } = make();
        sent = true;
        await this.pool.run(task, { transferList: [...transfer, share.port] });
      });
    } catch {
      // Refused, timed out or aborted while queued, or the worker failed: the owner does the work.
    } finally {
      if (!sent) share.port.close();
    }
  }

  /** Admits a request up front (see Admission.enter); 429 when the queue is full. */
  admit(signal: AbortSignal): void {
    this.admission.enter(signal);
  }

  /** Whether a new request would be refused with 429 now. */
  get full(): boolean {
    return this.admission.full;
  }

  stats() {
    return {
      threads: this.threads,
      intraOpThreads: this.intraOpThreads,
      ...this.admission.stats(),
      completed: this.pool.completed,
      ...(this.embeddings ? { samCache: { entries: this.embeddings.size, bytes: this.embeddings.bytes, hits: this.embeddings.hits, misses: this.embeddings.misses } } : {}),
    };
  }

  /**
   * Waits for the running tasks (a helper may still be at work after its request answered),
   * then ends the threads: terminating one inside an onnxruntime call can take the process
   * down ("terminate called after throwing Napi::Error").
   */
  close(): Promise<void> {
    return this.pool.close();
  }
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const roundAll = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? round1(v) : v]));

/** The task's result, or the signal's reason as soon as it aborts (the task runs on, unobserved). */
function untilAborted<T>(task: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return task;
  task.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    task.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
