/**
 * The main thread's handle on a model loaded in its own worker thread (worker.ts): calls
 * with streamed pieces and cancellation, and `dispose()` = terminate the thread. Calls to one
 * model run one at a time in its worker (onnxruntime would serialise them anyway); different
 * models run in parallel threads.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RuntimeOptions } from './adapters/types.js';
import type { LoadedModel } from './loader.js';
import type { FromWorker, HubWorkerData, ToWorker } from './worker.js';

export interface WorkerModelOptions {
  loaderUrl: string;
  exportName: string;
  modelsDir: string;
  options: RuntimeOptions;
  /** Called once if the thread dies on its own (a crash, out of memory), not on dispose. */
  onExit?(reason: string): void;
}

export interface CallOptions {
  signal?: AbortSignal;
  onPiece?(text: string): void;
  /** ArrayBuffers to move to the worker instead of copying. */
  transfer?: ArrayBuffer[];
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  onPiece?: (text: string) => void;
}

export class WorkerModelError extends Error {}

export class WorkerModel implements LoadedModel {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: string | undefined;
  private disposing = false;

  private constructor(private readonly worker: Worker) {}

  static start(opts: WorkerModelOptions): Promise<WorkerModel> {
    const filename = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
    const data: HubWorkerData = { loaderUrl: opts.loaderUrl, exportName: opts.exportName, modelsDir: opts.modelsDir, options: opts.options };
    const ts = filename.href.endsWith('.ts');
    // Under tsx/vitest the worker is TypeScript source, loaded through a CommonJS entry (see worker-boot.cjs).
    const worker = ts
      ? new Worker(new URL('./worker-boot.cjs', import.meta.url), { workerData: { ...data, __entry: fileURLToPath(filename) }, execArgv: ['--import', 'tsx'] })
      : new Worker(filename, { workerData: data });
    const model = new WorkerModel(worker);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          ready = true;
          resolve(model);
        } else if (m.type === 'load-error') {
          void worker.terminate();
          reject(new WorkerModelError(m.message));
        } else model.onMessage(m);
      });
      worker.on('error', (err) => {
        if (!ready) reject(new WorkerModelError(err.message));
        model.fail(`the model's worker crashed: ${err.message}`, opts);
      });
      worker.on('exit', (code) => {
        if (!ready) reject(new WorkerModelError(`the model's worker exited (code ${code}) while loading`));
        model.fail(`the model's worker exited (code ${code})`, opts);
      });
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'ready' || m.type === 'load-error') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'piece') p.onPiece?.(m.text);
    else {
      this.pending.delete(m.id);
      if (m.type === 'result') p.resolve(m.value);
      else p.reject(new WorkerModelError(m.message));
    }
  }

  private fail(reason: string, opts: WorkerModelOptions): void {
    if (this.dead) return;
    this.dead = reason;
    for (const p of this.pending.values()) p.reject(new WorkerModelError(reason));
    this.pending.clear();
    if (!this.disposing) opts.onExit?.(reason);
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  call<T>(method: string, args: unknown, opts: CallOptions = {}): Promise<T> {
    if (this.dead) return Promise.reject(new WorkerModelError(this.dead));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => this.worker.postMessage({ type: 'cancel', id } satisfies ToWorker);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => opts.signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (v) => {
          done();
          resolve(v as T);
        },
        reject: (e) => {
          done();
          reject(e);
        },
        ...(opts.onPiece ? { onPiece: opts.onPiece } : {}),
      });
      this.worker.postMessage({ type: 'call', id, method, args } satisfies ToWorker, opts.transfer ?? []);
      if (opts.signal?.aborted) onAbort();
    });
  }

  async dispose(): Promise<void> {
    this.disposing = true;
    await this.worker.terminate();
  }
}
