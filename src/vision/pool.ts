/**
 * Model inference off the event loop: a fixed set of worker threads (piscina), each
 * holding its own loaded models, behind a bounded queue (admission.ts). When the queue is
 * full the caller gets 429 RESOURCE_EXHAUSTED with Retry-After instead of an ever-growing
 * backlog; a task that waited past the queue-time budget gets 503.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { unavailable } from '../errors.js';
import { Admission } from './admission.js';
import type { Analysis, AnalysisNeeds, RawImage } from './analysis.js';
import type { ModelSelection } from './models.js';

export interface VisionPoolOptions {
  threads?: number;
  /** Requests waiting beyond the running ones; more are refused. */
  maxQueue?: number;
  /** Longest a task may wait for a thread before it fails with 503. Default 30 s. */
  queueTimeoutMs?: number;
  models: ModelSelection;
}

export interface WorkerTask {
  kind: 'analyse' | 'warm';
  image?: RawImage;
  needs?: AnalysisNeeds;
}

export class VisionPool {
  private readonly pool: Piscina;
  private readonly admission: Admission;
  readonly threads: number;
  private warmed: Promise<void> | undefined;

  constructor(opts: VisionPoolOptions) {
    this.threads = opts.threads ?? Math.max(1, Math.min(2, availableParallelism()));
    const filename = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url).href;
    this.pool = new Piscina({
      filename,
      minThreads: this.threads,
      maxThreads: this.threads,
      // Admission hands piscina at most one task per thread; its own queue stays empty.
      maxQueue: this.threads * 2,
      idleTimeout: Infinity,
      workerData: { models: opts.models },
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
    return this.admission.run(signal, async () => {
      // A copy goes to the worker (the caller's pixels may be shared with the decode cache),
      // made only once the task runs, so waiting requests hold no extra copies.
      const pixels = new Uint8Array(image.rgb);
      const task: WorkerTask = { kind: 'analyse', image: { width: image.width, height: image.height, rgb: pixels }, needs };
      try {
        return (await this.pool.run(task, { transferList: [pixels.buffer], ...(signal ? { signal } : {}) })) as Analysis;
      } catch (err) {
        if (err instanceof Error && /terminated|closed/i.test(err.message)) throw unavailable('The vision engine is restarting.', 2);
        throw err;
      }
    });
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
    return { threads: this.threads, ...this.admission.stats(), completed: this.pool.completed };
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
