/**
 * SSDLite MobileNetV2 (the default detector) on onnxruntime-node: the same weights as
 * ./ssd-mobilenet.ts, converted from the TF.js graph to ONNX by ./onnx/convert.ts at first
 * use (cached on disk), then run with ORT's graph optimisations and intra-op threads.
 *
 * What runs where:
 * - sharp resizes the image to 300×300 once (bilinear with TF's half-pixel centres, as the
 *   TF.js detector did); the 8-bit pixels go to ORT as they are and the graph scales them.
 * - ORT runs the backbone, the box/class heads and the sigmoid (`Postprocessor/convert_scores`,
 *   [1, 1917, 91] with column 0 the background) and hands back the raw box encodings
 *   (`concat`, [1, 1917, 1, 4]) plus the anchors (a constant of the graph).
 * - JS decodes the boxes (decodeSsdBoxes, the TF Object Detection API's faster-rcnn box
 *   coder the graph's Postprocessor implements) and does the rest as the TF.js detector does.
 *
 * The outputs match TF.js's to ~5e-5 on the same input (test/vision/detect/onnx-runtime.test.ts).
 */
import sharp from 'sharp';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { finishDetections, fuseMirrored } from './finish.js';
import { requireModelFile } from './model-files.js';
import type { Candidate } from './nms.js';
import { convertedModelPath, loadOrConvert } from './onnx/converted.js';
import type { ConvertSpec } from './onnx/convert.js';
import { loadOrt, sessionOptions, type Ort, type SessionTuning } from './onnx/session.js';
import { checkImage } from './preprocess.js';
import { SECOND_LOOK_FLOOR } from './second-look.js';
import { decodeSsd, SSD_INPUT, SSD_PACKAGE } from './ssd-mobilenet.js';
import type { DetectOptions, Detection, Detector, RgbImage } from './types.js';

const SCORES = 'Postprocessor/convert_scores';
const ENCODINGS = 'concat';
const ANCHORS = 'Postprocessor/ExpandDims';

/** What the converter keeps of the TF.js graph: normalised image in, scores + box encodings out. */
export const SSD_ONNX_SPEC: ConvertSpec = {
  name: 'ssdlite_mobilenet_v2_coco',
  inputNode: 'Preprocessor/sub',
  inputShape: [1, SSD_INPUT, SSD_INPUT, 3],
  resizeInput: true,
  // x / 127.5 - 1, as the graph's Preprocessor/mul and sub do.
  uint8Input: { scale: 1 / 127.5, offset: -1 },
  outputs: [SCORES, ENCODINGS],
  constOutputs: [ANCHORS],
};

/** The box coder's scale factors (y, x, h, w): TF Object Detection API's defaults, as in the graph. */
export const SSD_BOX_SCALES = [10, 10, 5, 5] as const;

/**
 * Box encodings [n × 4] (ty, tx, th, tw) against anchors [n × 4] (y0, x0, y1, x1, normalised)
 * → boxes [n × 4] (y0, x0, y1, x1): centre = t·anchorSize/scale + anchorCentre, size =
 * exp(t/scale)·anchorSize. Pure.
 */
export function decodeSsdBoxes(enc: Float32Array, anchors: Float32Array): Float32Array {
  const out = new Float32Array(enc.length);
  const [sy, sx, sh, sw] = SSD_BOX_SCALES;
  for (let i = 0; i < enc.length; i += 4) {
    const ha = anchors[i + 2]! - anchors[i]!;
    const wa = anchors[i + 3]! - anchors[i + 1]!;
    const yca = anchors[i]! + ha / 2;
    const xca = anchors[i + 1]! + wa / 2;
    const yc = (enc[i]! / sy) * ha + yca;
    const xc = (enc[i + 1]! / sx) * wa + xca;
    const h2 = (Math.exp(enc[i + 2]! / sh) * ha) / 2;
    const w2 = (Math.exp(enc[i + 3]! / sw) * wa) / 2;
    out[i] = yc - h2;
    out[i + 1] = xc - w2;
    out[i + 2] = yc + h2;
    out[i + 3] = xc + w2;
  }
  return out;
}

/**
 * The whole image as the converted graphs take it (they resize it themselves, see
 * ConvertSpec.resizeInput): as it is, mirrored for a second look, or copied when its pixels
 * are in shared memory (onnxruntime-node refuses tensors over a SharedArrayBuffer).
 */
export async function graphInput(img: RgbImage, mirrored = false): Promise<Uint8Array> {
  checkImage(img);
  if (mirrored) {
    const out = await sharp(Buffer.from(img.rgb.buffer, img.rgb.byteOffset, img.rgb.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
      .flop()
      .raw()
      .toBuffer();
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  return img.rgb.buffer instanceof SharedArrayBuffer ? img.rgb.slice() : img.rgb;
}

export interface OnnxSsdOptions extends SessionTuning {
  modelDir?: string;
  secondLook?: boolean;
}

/**
 * Per-stage milliseconds of the last detect() (for debug logs and the bench). `resize`: getting
 * the model input ready outside the model (the converted graphs resize inside, so for them a
 * mirror or a copy at most; the resize is part of `infer`).
 */
export interface DetectTimes {
  resize: number;
  infer: number;
  post: number;
}

export class OnnxSsdDetector implements Detector {
  readonly id = 'ssd-mobilenet';
  readonly licence = 'Apache-2.0';
  readonly runtime = 'onnxruntime';
  readonly pkg = SSD_PACKAGE;
  readonly defaultMinScore = 0.5;
  readonly iouThreshold = 0.45;
  readonly crossClassIouThreshold = 0.9;
  readonly secondLook: boolean;
  lastTimes: DetectTimes = { resize: 0, infer: 0, post: 0 };

  private session: InferenceSession | undefined;
  private ort: Ort | undefined;
  private anchors: Float32Array | undefined;
  private loading: Promise<void> | undefined;

  constructor(private readonly options: OnnxSsdOptions = {}) {
    this.secondLook = options.secondLook ?? false;
  }

  load(): Promise<void> {
    if (this.session) return Promise.resolve();
    this.loading ??= this.doLoad().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    const modelJson = requireModelFile(SSD_PACKAGE, this.id, this.options.modelDir);
    const bytes = await loadOrConvert(modelJson, SSD_ONNX_SPEC, convertedModelPath(SSD_PACKAGE, 'ssd'));
    const ort = await loadOrt();
    const session = await ort.InferenceSession.create(bytes, sessionOptions(this.options));
    // The anchors are a constant of the graph: read them once, with a grey warm-up run.
    const grey = new Uint8Array(SSD_INPUT * SSD_INPUT * 3).fill(128);
    const out = await session.run({ input: new ort.Tensor('uint8', grey, [1, SSD_INPUT, SSD_INPUT, 3]) });
    this.anchors = Float32Array.from((out[ANCHORS] as Tensor).data as Float32Array);
    this.ort = ort;
    this.session = session;
  }

  /** One inference on an RGB image of any size (the graph resizes it to 300²): sigmoid scores [n × 91] and boxes [n × 4]. */
  async infer(input: Uint8Array, width = SSD_INPUT, height = SSD_INPUT): Promise<{ scores: Float32Array; boxes: Float32Array }> {
    await this.load();
    const out = await this.session!.run({ input: new this.ort!.Tensor('uint8', input, [1, height, width, 3]) }, [SCORES, ENCODINGS]);
    return { scores: (out[SCORES] as Tensor).data as Float32Array, boxes: decodeSsdBoxes((out[ENCODINGS] as Tensor).data as Float32Array, this.anchors!) };
  }

  /** One look's candidates at `minScore` or more, before NMS (the fused detector takes these). */
  async candidates(img: RgbImage, mirrored: boolean, minScore: number): Promise<Candidate[]> {
    let t = performance.now();
    const input = await graphInput(img, mirrored);
    this.lastTimes.resize += performance.now() - t;
    t = performance.now();
    const raw = await this.infer(input, img.width, img.height);
    this.lastTimes.infer += performance.now() - t;
    t = performance.now();
    const c = decodeSsd(raw.scores, raw.boxes, minScore, 1);
    this.lastTimes.post += performance.now() - t;
    return c;
  }

  async detect(img: RgbImage, opts: DetectOptions = {}): Promise<Detection[]> {
    checkImage(img);
    await this.load();
    this.lastTimes = { resize: 0, infer: 0, post: 0 };
    const minScore = opts.minScore ?? this.defaultMinScore;
    let candidates: Candidate[];
    if (this.secondLook) {
      const floor = Math.min(minScore, SECOND_LOOK_FLOOR);
      const [plain, mirrored] = [await this.candidates(img, false, floor), await this.candidates(img, true, floor)];
      candidates = fuseMirrored(plain, mirrored);
    } else {
      candidates = await this.candidates(img, false, minScore);
    }
    const t = performance.now();
    const out = finishDetections(candidates, {
      minScore,
      iouThreshold: this.iouThreshold,
      crossClassIouThreshold: this.crossClassIouThreshold,
      ...(opts.maxDetections !== undefined ? { maxDetections: opts.maxDetections } : {}),
    });
    this.lastTimes.post += performance.now() - t;
    return out;
  }

  dispose(): void {
    const s = this.session;
    this.session = undefined;
    void s?.release();
  }
}
