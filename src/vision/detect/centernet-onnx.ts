/**
 * CenterNet (MobileNetV3, @vladmandic/human's centernet.json) on onnxruntime-node: the TF.js
 * graph converted by ./onnx/convert.ts up to its two heads, the class heat-map
 * (`tower_0/keypoints`, sigmoid, [1, 128, 128, 80]) and the box sizes (`tower_0/wh`, input
 * pixels, [1, 128, 128, 4]). The graph's own tail (3×3 max-pool peak test, top 100, box
 * arithmetic) is done here in JS by decodeCenterNetMaps, which also keeps every class's heat
 * at the peak: that is what lets a fused detector see CenterNet's runner-up classes.
 *
 * The heads match TF.js's to ~1e-6 (heat) on the same input (test/vision/detect/centernet-onnx.test.ts).
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { CENTERNET_INPUT, CENTERNET_PACKAGE } from './centernet.js';
import { finishDetections } from './finish.js';
import { requireModelFile } from './model-files.js';
import { clampBox, type Candidate } from './nms.js';
import { convertedModelPath, loadOrConvert } from './onnx/converted.js';
import type { ConvertSpec } from './onnx/convert.js';
import { loadOrt, sessionOptions, type Ort, type SessionTuning } from './onnx/session.js';
import { checkImage } from './preprocess.js';
import { graphInput, type DetectTimes } from './ssd-onnx.js';
import type { Box, DetectOptions, Detection, Detector, RgbImage } from './types.js';

const HEAT = 'tower_0/keypoints';
const SIZES = 'tower_0/wh';
/** The heat-map is the input at stride 4 (128² for 512²). */
export const CENTERNET_STRIDE = 4;
const CLASSES = 80;
/** The graph's own TopKV2 k. */
export const CENTERNET_MAX_PEAKS = 100;

/**
 * The conversion for a square input of `side` pixels (a multiple of 32). The graph was
 * exported for 512²; it is convolutional throughout and its three upsamplings are ×2, so
 * at another side they are converted as ×2 of whatever comes in.
 */
export function centerNetOnnxSpec(side = CENTERNET_INPUT): ConvertSpec {
  if (!Number.isInteger(side / 32) || side <= 0) throw new RangeError(`CenterNet input side ${side} is not a multiple of 32`);
  return {
    name: 'centernet_mobilenetv3',
    inputNode: 'tower_0/images',
    inputShape: [1, side, side, 3],
    // The graph takes 0..255 and normalises itself.
    uint8Input: { scale: 1, offset: 0 },
    resizeInput: true,
    outputs: [HEAT, SIZES],
    ...(side === CENTERNET_INPUT ? {} : { resizeFactor: 2 }),
  };
}

export interface OnnxCenterNetOptions extends SessionTuning {
  modelDir?: string;
  /** Input side in pixels (multiple of 32). Default 512, what the graph was exported for. */
  inputSize?: number;
}

/**
 * The heads → candidates, as the graph's tail does it: a heat value is a peak when no
 * neighbour of the same class in its 3×3 window is higher (TF's SAME max-pool, so the
 * window stops at the border); the best `maxPeaks` peaks at `minScore` or more are kept,
 * box = cell·stride ∓ the four sizes (left, top, right, bottom), normalised by the input
 * side. Each candidate carries the 80 classes' heat at its cell as `classScores`. Pure.
 */
export function decodeCenterNetMaps(
  heat: Float32Array,
  sizes: Float32Array,
  side: number,
  minScore: number,
  maxPeaks = CENTERNET_MAX_PEAKS,
  inputSize = CENTERNET_INPUT,
): Candidate[] {
  if (heat.length !== side * side * CLASSES || sizes.length !== side * side * 4) throw new RangeError('CenterNet head sizes do not match');
  const peaks: Array<{ cell: number; cls: number; score: number }> = [];
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const cell = y * side + x;
      for (let c = 0; c < CLASSES; c++) {
        const v = heat[cell * CLASSES + c]!;
        if (!(v >= minScore)) continue;
        let peak = true;
        for (let dy = -1; dy <= 1 && peak; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if ((dx || dy) && yy >= 0 && yy < side && xx >= 0 && xx < side && heat[(yy * side + xx) * CLASSES + c]! > v) {
              peak = false;
              break;
            }
          }
        if (peak) peaks.push({ cell, cls: c, score: v });
      }
    }
  peaks.sort((a, b) => b.score - a.score);
  return peaks.slice(0, maxPeaks).map(({ cell, cls, score }) => {
    const cx = (cell % side) * CENTERNET_STRIDE;
    const cy = Math.floor(cell / side) * CENTERNET_STRIDE;
    const s = sizes.subarray(cell * 4, cell * 4 + 4);
    const box: Box = clampBox([(cx - s[0]!) / inputSize, (cy - s[1]!) / inputSize, (cx + s[2]!) / inputSize, (cy + s[3]!) / inputSize]);
    return { classIndex: cls, score, box, classScores: heat.slice(cell * CLASSES, (cell + 1) * CLASSES) };
  });
}

export class OnnxCenterNetDetector implements Detector {
  readonly id = 'centernet';
  readonly licence = 'MIT';
  readonly runtime = 'onnxruntime';
  readonly pkg = CENTERNET_PACKAGE;
  readonly defaultMinScore = 0.4;
  readonly iouThreshold = 0.45;
  readonly crossClassIouThreshold = 0.9;
  readonly secondLook = false;
  lastTimes: DetectTimes = { resize: 0, infer: 0, post: 0 };

  private session: InferenceSession | undefined;
  private ort: Ort | undefined;
  private loading: Promise<void> | undefined;

  /** Input side in pixels. */
  readonly inputSize: number;

  constructor(private readonly options: OnnxCenterNetOptions = {}) {
    this.inputSize = options.inputSize ?? CENTERNET_INPUT;
  }

  load(): Promise<void> {
    if (this.session) return Promise.resolve();
    this.loading ??= this.doLoad().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    const modelJson = requireModelFile(CENTERNET_PACKAGE, this.id, this.options.modelDir);
    const variant = this.inputSize === CENTERNET_INPUT ? 'centernet' : `centernet-${this.inputSize}`;
    const bytes = await loadOrConvert(modelJson, centerNetOnnxSpec(this.inputSize), convertedModelPath(CENTERNET_PACKAGE, variant));
    const ort = await loadOrt();
    const session = await ort.InferenceSession.create(bytes, sessionOptions(this.options));
    // One grey run so the first request does not pay for ORT's kernel setup.
    const side = this.inputSize;
    await session.run({ input: new ort.Tensor('uint8', new Uint8Array(side * side * 3).fill(128), [1, side, side, 3]) });
    this.ort = ort;
    this.session = session;
  }

  /** One inference on an RGB image of any size (the graph resizes it to inputSize²): the class heat-map and the box sizes (NHWC). */
  async infer(input: Uint8Array, width = this.inputSize, height = this.inputSize): Promise<{ heat: Float32Array; sizes: Float32Array; side: number }> {
    await this.load();
    const out = await this.session!.run({ input: new this.ort!.Tensor('uint8', input, [1, height, width, 3]) });
    const heat = out[HEAT] as Tensor;
    return { heat: heat.data as Float32Array, sizes: (out[SIZES] as Tensor).data as Float32Array, side: Number(heat.dims[1]) };
  }

  /** Candidates at `minScore` or more, before NMS (the fused detector takes these). */
  async candidates(img: RgbImage, minScore: number): Promise<Candidate[]> {
    checkImage(img);
    let t = performance.now();
    const input = await graphInput(img);
    this.lastTimes.resize += performance.now() - t;
    t = performance.now();
    const raw = await this.infer(input, img.width, img.height);
    this.lastTimes.infer += performance.now() - t;
    t = performance.now();
    const c = decodeCenterNetMaps(raw.heat, raw.sizes, raw.side, minScore, CENTERNET_MAX_PEAKS, this.inputSize);
    this.lastTimes.post += performance.now() - t;
    return c;
  }

  async detect(img: RgbImage, opts: DetectOptions = {}): Promise<Detection[]> {
    this.lastTimes = { resize: 0, infer: 0, post: 0 };
    const minScore = opts.minScore ?? this.defaultMinScore;
    const candidates = await this.candidates(img, minScore);
    return finishDetections(candidates, {
      minScore,
      iouThreshold: this.iouThreshold,
      crossClassIouThreshold: this.crossClassIouThreshold,
      ...(opts.maxDetections !== undefined ? { maxDetections: opts.maxDetections } : {}),
    });
  }

  dispose(): void {
    const s = this.session;
    this.session = undefined;
    void s?.release();
  }
}
