/**
 * CenterNet with a MobileNetV3 backbone (github.com/610265158/mobilenetv3_centernet),
 * as converted to TF.js by @vladmandic/human (MIT). 512×512 input, the image stretched to
 * it, pixel values 0..255 (the graph normalises). Its `tower_0/detections` output is the
 * top 100 peaks of the centre heat-map, already decoded: [x0, y0, x1, y1, score, class]
 * in input pixels, class 0..79 in COCO order.
 */
import type { Candidate } from './nms.js';
import type { ModelPackage } from './model-files.js';
import { fromStretch, stretchTensor } from './preprocess.js';
import { readOutputs, TfjsDetector } from './tfjs-detector.js';
import type { GraphModel, tf } from './tfjs-model.js';
import type { RgbImage } from './types.js';

export const CENTERNET_PACKAGE: ModelPackage = {
  name: '@vladmandic/human',
  version: '3.3.6',
  files: ['models/centernet.json', 'models/centernet.bin'],
};

export const CENTERNET_INPUT = 512;
const OUTPUT = 'tower_0/detections';

/** Decodes `tower_0/detections` ([n × 6] rows) into candidates with normalised boxes. */
export function decodeCenterNet(rows: Float32Array, inputSize: number, minScore: number): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i + 6 <= rows.length; i += 6) {
    const score = rows[i + 4]!;
    const cls = rows[i + 5]!;
    if (!(score >= minScore) || !Number.isInteger(cls) || cls < 0 || cls >= 80) continue;
    const box = fromStretch([rows[i]!, rows[i + 1]!, rows[i + 2]!, rows[i + 3]!], inputSize, inputSize);
    out.push({ classIndex: cls, score, box });
  }
  return out;
}

export class CenterNetDetector extends TfjsDetector<null, Float32Array> {
  readonly id = 'centernet';
  readonly licence = 'MIT';
  readonly pkg = CENTERNET_PACKAGE;
  readonly defaultMinScore = 0.4;

  preprocess(img: RgbImage): { input: tf.Tensor; meta: null } {
    return { input: stretchTensor(img, CENTERNET_INPUT, CENTERNET_INPUT), meta: null };
  }

  async infer(model: GraphModel, input: tf.Tensor): Promise<Float32Array> {
    const [rows] = await readOutputs(model.execute(input, OUTPUT) as tf.Tensor);
    return rows!;
  }

  postprocess(rows: Float32Array, _meta: null, minScore: number): Candidate[] {
    return decodeCenterNet(rows, CENTERNET_INPUT, minScore);
  }
}
