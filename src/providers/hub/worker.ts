/**
 * The hub model worker thread: one loaded model per thread. onnxruntime-node's `run` is
 * synchronous on the calling thread (its Promise only defers the start with setImmediate),
 * so a Florence-2 or VLM generation on the main thread would stall every other request for
 * seconds; here it stalls only this worker. Disposing a model is terminating its thread,
 * which gives all of onnxruntime's memory back, arenas included.
 *
 * Protocol (structured-clone messages):
 *   → { type: 'call', id, method, args }   ← { type: 'piece', id, text }* then { type: 'result', id, value } | { type: 'error', id, message }
 *   → { type: 'cancel', id }               (the call stops at its next token/step)
 *   ← { type: 'ready' } once loaded, or { type: 'load-error', message }
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { AdapterRuntime, RuntimeLoader, RuntimeOptions } from './adapters/types.js';

export interface HubWorkerData {
  /** Module URL exporting the adapter's RuntimeLoader. */
  loaderUrl: string;
  exportName: string;
  modelsDir: string;
  options: RuntimeOptions;
}

export type ToWorker = { type: 'call'; id: number; method: string; args: unknown } | { type: 'cancel'; id: number };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'load-error'; message: string }
  | { type: 'piece'; id: number; text: string }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; message: string };

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as HubWorkerData;
  const send = (m: FromWorker) => port.postMessage(m);
  let runtime: AdapterRuntime;
  try {
    const tf = await import('@huggingface/transformers');
    // Never reach the network from a server: models come from the store `ocellus pull` filled.
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
    tf.env.localModelPath = data.modelsDir.endsWith('/') ? data.modelsDir : `${data.modelsDir}/`;
    tf.env.useFSCache = false;
    tf.env.useBrowserCache = false;
    // TypeScript sources (tsx) must be required, not imported, inside a worker: see worker-boot.cjs.
    const mod = (data.loaderUrl.endsWith('.ts') ? createRequire(data.loaderUrl)(fileURLToPath(data.loaderUrl)) : await import(data.loaderUrl)) as Record<string, RuntimeLoader>;
    const load = mod[data.exportName];
    if (typeof load !== 'function') throw new Error(`${data.loaderUrl} does not export ${data.exportName}`);
    runtime = await load(tf, data.options);
  } catch (err) {
    send({ type: 'load-error', message: (err as Error)?.message ?? String(err) });
    return;
  }
  const running = new Map<number, AbortController>();
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'cancel') {
      running.get(msg.id)?.abort();
      return;
    }
    const controller = new AbortController();
    running.set(msg.id, controller);
    runtime
      .call(msg.method, msg.args, { emit: (text) => send({ type: 'piece', id: msg.id, text }), signal: controller.signal })
      .then(
        (value) => send({ type: 'result', id: msg.id, value }),
        (err: unknown) => send({ type: 'error', id: msg.id, message: (err as Error)?.message ?? String(err) }),
      )
      .finally(() => running.delete(msg.id));
  });
  send({ type: 'ready' });
}

void main();
