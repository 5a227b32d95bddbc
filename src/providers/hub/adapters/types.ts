/**
 * What an adapter's model side looks like inside the hub worker thread. Each adapter is two
 * halves: pure pre/post-processing (prompts, label splitting, coordinate conversion), run on
 * the main thread and unit-tested without weights, and a runtime that holds the loaded
 * transformers.js objects and answers `call(method, args)` in the worker.
 */
import type * as Transformers from '@huggingface/transformers';

export type TransformersModule = typeof Transformers;

/** Upright 8-bit RGB, row-major: DecodedImage's pixels, copied for the worker. */
export interface RuntimeImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export interface RuntimeOptions {
  /** Repo id, resolved against `env.localModelPath` (the models dir). */
  modelId: string;
  /** transformers.js `dtype`: one dtype or one per module. */
  dtype: string | Record<string, string>;
  /** config.json's model_type, for adapters whose processors differ by family. */
  modelType?: string;
  /** onnxruntime intra-op threads; undefined lets onnxruntime choose. */
  threads?: number;
}

export interface CallControl {
  /** Streams a piece of text to the caller (answers). */
  emit(piece: string): void;
  /** Set when the caller gave up (client left): long generations stop at the next token. */
  readonly signal: AbortSignal;
}

export interface AdapterRuntime {
  call(method: string, args: unknown, ctl: CallControl): Promise<unknown>;
  dispose(): Promise<void>;
}

export type RuntimeLoader = (tf: TransformersModule, opts: RuntimeOptions) => Promise<AdapterRuntime>;

/** transformers.js session options: CPU, and the thread count when set. */
export function sessionOptions(opts: RuntimeOptions): Record<string, unknown> {
  return opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {};
}

export function toRawImage(tf: TransformersModule, image: RuntimeImage): InstanceType<TransformersModule['RawImage']> {
  return new tf.RawImage(image.rgb, image.width, image.height, 3);
}
