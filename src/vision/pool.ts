/**
 * Model inference off the event loop: a fixed set of worker threads (piscina), each
 * holding its own loaded models, behind a bounded queue. When the queue is full the
 * caller gets 429 RESOURCE_EXHAUSTED with Retry-After instead of an ever-growing backlog.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { resourceExhausted, unavailable } from '../server/errors.js';
import type { Analysis, AnalysisNeeds, RawImage } from './analysis.js';
import type { ModelSelection } from './models.js';

export interface VisionPoolOptions {
  threads?: number;
  /** Requests waiting beyond the running ones; more are refused. */
  maxQueue?: number;
  models: ModelSelection;
}

export interface WorkerTask {
  kind: 'analyse' | 'warm';
  image?: RawImage;
  needs?: AnalysisNeeds;
}

export class VisionPool {
  private readonly pool: Piscina;
  readonly threads: number;
  private warmed: Promise<void> | undefined;

  constructor(opts: VisionPoolOptions) {
    this.threads = opts.threads ?? Math.max(1, Math.min(2, availableParallelism()));
    const filename = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url).href;
    this.pool = new Piscina({
      filename,
      minThreads: this.threads,
      maxThreads: this.threads,
      maxQueue: opts.maxQueue ?? this.threads * 8,
      idleTimeout: Infinity,
      workerData: { models: opts.models },
      // Under tsx/vitest the worker is TypeScript source; built code needs no loader.
      execArgv: filename.endsWith('.ts') ? ['--import', 'tsx'] : [],
    });
  }

  /** Loads and warms the models in every thread; resolves when all can answer. */
  warm(): Promise<void> {
    this.warmed ??= Promise.all(Array.from({ length: this.threads }, () => this.pool.run({ kind: 'warm' } satisfies WorkerTask))).then(
      () => undefined,
    );
    return this.warmed;
  }

  async analyse(image: RawImage, needs: AnalysisNeeds, signal?: AbortSignal): Promise<Analysis> {
    // A copy goes to the worker: the caller's pixels may be shared with the decode cache.
    const pixels = new Uint8Array(image.rgb);
    const task: WorkerTask = { kind: 'analyse', image: { width: image.width, height: image.height, rgb: pixels }, needs };
    try {
      return (await this.pool.run(task, { transferList: [pixels.buffer], ...(signal ? { signal } : {}) })) as Analysis;
    } catch (err) {
      if (err instanceof Error && /queue is at limit/i.test(err.message))
        throw resourceExhausted('The vision engine is busy: too many requests are waiting. Retry shortly.', 2);
      if (err instanceof Error && /terminated|closed/i.test(err.message)) throw unavailable('The vision engine is restarting.', 2);
      throw err;
    }
  }

  stats() {
    return { threads: this.threads, queued: this.pool.queueSize, completed: this.pool.completed };
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
