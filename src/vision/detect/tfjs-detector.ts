/**
 * The shared shape of the TF.js detectors: load() once, then per image
 * preprocess() → infer() → postprocess() → score threshold + class-wise NMS.
 * Subclasses provide the model-specific steps; preprocess and postprocess are kept
 * separate from inference so their math can be tested without weights.
 */
import { finishDetections, fuseMirrored } from './finish.js';
import type { ModelPackage } from './model-files.js';
import { requireModelFile } from './model-files.js';
import type { Candidate } from './nms.js';
import { SECOND_LOOK_FLOOR } from './second-look.js';
import { checkImage } from './preprocess.js';
import { loadGraphModelFromFile, tf, type GraphModel } from './tfjs-model.js';
import type { DetectOptions, Detection, Detector, RgbImage } from './types.js';

export interface DetectorOptions {
  /** Directory holding the model package (or its files); else node_modules, then the model cache. */
  modelDir?: string;
  /**
   * Also run the image mirrored and fuse the two looks (./second-look.ts). Default off:
   * measured in docs/detectors.md, it did not pay for its second inference.
   */
  secondLook?: boolean;
}

export { ALTERNATIVE_MIN_SCORE } from './finish.js';

export abstract class TfjsDetector<Meta, Raw> implements Detector {
  abstract readonly id: string;
  abstract readonly licence: string;
  /** Where the weights come from. */
  abstract readonly pkg: ModelPackage;
  /** Threshold when the caller gives none: chosen from bench/detectors.ts. */
  abstract readonly defaultMinScore: number;
  /** Class-wise NMS IoU. */
  readonly iouThreshold: number = 0.45;
  /** Suppress near-identical boxes across classes (car vs truck on one object). */
  readonly crossClassIouThreshold: number = 0.9;
  /** Fuse a mirrored second look (see DetectorOptions.secondLook). */
  readonly secondLook: boolean = false;
  /** The width axis of the input tensor, for mirroring it (NHWC: 2). */
  protected readonly widthAxis: number = 2;

  private model: GraphModel | null = null;
  private loading: Promise<GraphModel> | null = null;

  constructor(protected readonly options: DetectorOptions = {}) {}

  /** Absolute path of model.json; throws ModelNotInstalledError when absent. */
  modelFile(): string {
    return requireModelFile(this.pkg, this.id, this.options.modelDir);
  }

  /** The loaded graph, or null before load() (benchmarks call infer() on it directly). */
  get graphModel(): GraphModel | null {
    return this.model;
  }

  load(): Promise<void> {
    return this.loaded().then(() => undefined);
  }

  private loaded(): Promise<GraphModel> {
    if (this.model) return Promise.resolve(this.model);
    this.loading ??= (async () => {
      const model = await loadGraphModelFromFile(this.modelFile());
      await this.warmUp(model);
      this.model = model;
      return model;
    })().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /** One inference on a grey image, so the first real request does not pay for kernel setup. */
  protected async warmUp(model: GraphModel): Promise<void> {
    const side = 64;
    const img = { width: side, height: side, rgb: new Uint8Array(side * side * 3).fill(128) };
    const { input, meta } = this.preprocess(img);
    try {
      this.postprocess(await this.infer(model, input), meta, 1);
    } finally {
      tf.dispose(input);
    }
  }

  async detect(img: RgbImage, opts: DetectOptions = {}): Promise<Detection[]> {
    checkImage(img);
    const model = await this.loaded();
    const minScore = opts.minScore ?? this.defaultMinScore;
    const { input, meta } = this.preprocess(img);
    let candidates: Candidate[];
    try {
      if (this.secondLook) {
        const floor = Math.min(minScore, SECOND_LOOK_FLOOR);
        const plain = this.postprocess(await this.infer(model, input), meta, floor);
        const flipped = tf.reverse(input, this.widthAxis);
        let raw: Raw;
        try {
          raw = await this.infer(model, flipped);
        } finally {
          tf.dispose(flipped);
        }
        candidates = fuseMirrored(plain, this.postprocess(raw, meta, floor));
      } else {
        candidates = this.postprocess(await this.infer(model, input), meta, minScore);
      }
    } finally {
      tf.dispose(input);
    }
    return finishDetections(candidates, {
      minScore,
      iouThreshold: this.iouThreshold,
      crossClassIouThreshold: this.crossClassIouThreshold,
      ...(opts.maxDetections !== undefined ? { maxDetections: opts.maxDetections } : {}),
    });
  }

  dispose(): void {
    this.model?.dispose();
    this.model = null;
  }

  /** Image → input tensor (owned by the caller) + whatever postprocess needs to map back. */
  abstract preprocess(img: RgbImage): { input: tf.Tensor; meta: Meta };
  /** Runs the graph; returns plain arrays and disposes every tensor it made. */
  abstract infer(model: GraphModel, input: tf.Tensor): Promise<Raw>;
  /** Raw outputs → candidates (normalised boxes, COCO class indices) at or above minScore. */
  abstract postprocess(raw: Raw, meta: Meta, minScore: number): Candidate[];
}

/** Reads the listed outputs of a graph execution as Float32Arrays and disposes them. */
export async function readOutputs(out: tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  const list = Array.isArray(out) ? out : [out];
  try {
    return (await Promise.all(list.map((t) => t.data()))) as Float32Array[];
  } finally {
    tf.dispose(list);
  }
}
