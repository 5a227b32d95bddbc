/**
 * One worker thread holding some of the vision models, for the bench's "bare, as the server
 * lays it out" baseline: the server runs a request's detector and its safety rating at once
 * on two worker threads, and onnxruntime-node runs a session synchronously on the calling
 * thread (its `run` is a setImmediate around a blocking call), so two models only overlap
 * on two threads. This is the thinnest such thread: postMessage in (pixels transferred),
 * `analyseImage` as the worker calls it, postMessage out. No piscina, no admission queue.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { analyseImage, helpFollowUp, lendDetectPart } from '../../src/vision/analyser.js';
import type { FollowUpHelp } from '../../src/vision/detect/follow-up.js';
import type { WorkShare } from '../../src/vision/shared-work.js';
import type { Analysis, AnalysisNeeds, RawImage } from '../../src/vision/analysis.js';
import { loadVisionModels } from '../../src/vision/load-models.js';
import type { ModelSelection } from '../../src/vision/model-selection.js';

interface Request {
  id: number;
  image: RawImage;
  needs: AnalysisNeeds;
  /** The helper's side of a lent detection (src/vision/shared-work.ts), as the pool's `lend` task. */
  lend?: boolean;
  /** The helper's side of a shared follow-up (src/vision/detect/follow-up.ts), as the pool's `follow-up` task. */
  followUp?: { help: FollowUpHelp; share: WorkShare };
}

if (!isMainThread && parentPort && (workerData as { modelThread?: ModelSelection } | undefined)?.modelThread) {
  const port = parentPort;
  const caps = loadVisionModels((workerData as { modelThread: ModelSelection }).modelThread);
  port.on('message', (msg: Request | 'warm' | 'close') => {
    if (msg === 'warm') void caps.warm().then(() => port.postMessage('warm'), (e: unknown) => port.postMessage({ error: String(e) }));
    else if (msg === 'close') void caps.dispose().then(() => port.close());
    else if (msg.followUp) void helpFollowUp(caps, msg.image, msg.followUp.help, msg.followUp.share).then(() => port.postMessage({ id: msg.id, analysis: { times: {} } }), (e: unknown) => port.postMessage({ id: msg.id, error: String(e) }));
    else if (msg.lend) void lendDetectPart(caps, msg.image, msg.needs.detect ?? {}).then(() => port.postMessage({ id: msg.id, analysis: { times: {} } }), (e: unknown) => port.postMessage({ id: msg.id, error: String(e) }));
    else void analyseImage(caps, msg.image, msg.needs).then((a) => port.postMessage({ id: msg.id, analysis: a }), (e: unknown) => port.postMessage({ id: msg.id, error: String(e) }));
  });
}

/** The main-thread side: `analyse` sends one image to the thread and resolves with its analysis. */
export class ModelThread {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (a: Analysis) => void; reject: (e: Error) => void }>();
  private warmed: Promise<void> | undefined;

  constructor(models: ModelSelection) {
    const self = import.meta.url;
    const ts = self.endsWith('.ts');
    // The bench runs under tsx, so this file is TypeScript: the thread starts from a line of
    // JavaScript that imports it once tsx's loader is registered (a .ts entry point is not).
    this.worker = new Worker(ts ? `import('tsx/esm/api').then((tsx) => tsx.register()).then(() => import(${JSON.stringify(self)}))` : new URL(self), {
      eval: ts,
      workerData: { modelThread: models },
    });
    this.worker.on('message', (m: { id?: number; analysis?: Analysis; error?: string } | 'warm') => {
      if (m === 'warm' || m.id === undefined) return;
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(m.error));
      else w?.resolve(m.analysis!);
    });
  }

  warm(): Promise<void> {
    this.warmed ??= new Promise<void>((resolve, reject) => {
      const on = (m: unknown) => {
        if (m === 'warm') resolve();
        else if (m && typeof m === 'object' && 'error' in m && !('id' in m)) reject(new Error(String((m as { error: unknown }).error)));
        else return;
        this.worker.off('message', on);
      };
      this.worker.on('message', on);
      this.worker.postMessage('warm');
    });
    return this.warmed;
  }

  /**
   * Runs the thread's models on `image` (its pixels are copied once and the copy transferred,
   * as the pool does). A share in `needs.detect` goes with it.
   */
  analyse(image: RawImage, needs: AnalysisNeeds): Promise<Analysis> {
    return this.send(image, needs);
  }

  /** The helper task of a lent detection: runs the shared part unless its owner has claimed it. */
  lend(image: RawImage, needs: AnalysisNeeds): Promise<void> {
    return this.send(image, needs, { lend: true }).then(() => undefined);
  }

  /** The helper task of a shared follow-up: runs the items its owner has not claimed. */
  followUp(image: RawImage, help: FollowUpHelp, share: WorkShare): Promise<void> {
    return this.send(image, {}, { followUp: { help, share } }).then(() => undefined);
  }

  private send(image: RawImage, needs: AnalysisNeeds, as: Pick<Request, 'lend' | 'followUp'> = {}): Promise<Analysis> {
    const id = this.next++;
    const rgb = new Uint8Array(image.rgb);
    const d = needs.detect;
    const ports = [d?.share?.port, d?.followUp?.work.port, d?.followUp?.ready, as.followUp?.share.port].filter((p) => p !== undefined);
    return new Promise<Analysis>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, image: { width: image.width, height: image.height, rgb }, needs, ...as } satisfies Request, [rgb.buffer, ...ports]);
    });
  }

  /**
   * Disposes the models and lets the thread end by itself: terminating a thread inside an
   * onnxruntime call can take the process down (see src/vision/pool.ts). Terminated only
   * if it has not ended 5 s later.
   */
  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('close');
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}
