/**
 * Faces: BlazeFace (MediaPipe's back-camera model, 256×256) finds face boxes, FaceMesh's
 * face-presence output confirms them, and the FER-2013 emotion model (64×64 grey) reads an
 * expression. Weights from @vladmandic/human (MIT). This file holds the pure parts: anchor
 * generation, decoding of the detector's raw outputs, crops, and expression arg-max.
 */
import type { Expression } from './types.js';

export const BLAZEFACE_INPUT = 256;
export const FACEMESH_INPUT = 192;
export const EMOTION_INPUT = 64;

/** Output order of the emotion model (oarriaga/face_classification, FER-2013, grey input). */
export const EMOTION_LABELS: readonly Expression[] = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];

/** ITU-R BT.601 luma weights, as the emotion model's training used (rgb2gray). */
export const GREY_WEIGHTS = [0.2989, 0.587, 0.114] as const;

/**
 * BlazeFace's SSD anchors, [cx, cy] in input pixels: a 16×16 grid (stride 16) with 2 anchors
 * per cell, then an 8×8 grid (stride 32) with 6: 512 + 384 = 896 for a 256 input.
 */
export function blazeFaceAnchors(size = BLAZEFACE_INPUT): Float32Array {
  const spec = [
    { stride: size / 16, perCell: 2 },
    { stride: size / 8, perCell: 6 },
  ];
  const out: number[] = [];
  for (const { stride, perCell } of spec) {
    const grid = Math.ceil(size / stride);
    for (let y = 0; y < grid; y++)
      for (let x = 0; x < grid; x++) for (let n = 0; n < perCell; n++) out.push(stride * (x + 0.5), stride * (y + 0.5));
  }
  return Float32Array.from(out);
}

export interface RawFace {
  /** sigmoid of the logit. */
  score: number;
  /** [x0, y0, x1, y1] in input pixels. */
  box: [number, number, number, number];
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Decodes BlazeFace's raw outputs, rows in anchor order: `logits` (one per anchor) and
 * `regressors` (16 per anchor: dx, dy, w, h of the box relative to the anchor, in input
 * pixels, then 6 landmark points, unused here). Keeps rows scoring at least `minScore`.
 */
export function decodeBlazeFace(logits: Float32Array, regressors: Float32Array, anchors: Float32Array, minScore: number): RawFace[] {
  const n = logits.length;
  if (regressors.length !== n * 16 || anchors.length !== n * 2)
    throw new RangeError(`BlazeFace outputs disagree: ${n} logits, ${regressors.length / 16} regressor rows, ${anchors.length / 2} anchors`);
  const out: RawFace[] = [];
  for (let i = 0; i < n; i++) {
    const score = sigmoid(logits[i]!);
    if (!(score >= minScore)) continue;
    const cx = anchors[2 * i]! + regressors[16 * i]!;
    const cy = anchors[2 * i + 1]! + regressors[16 * i + 1]!;
    const w = regressors[16 * i + 2]!;
    const h = regressors[16 * i + 3]!;
    if (!(w > 0 && h > 0)) continue;
    out.push({ score, box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2] });
  }
  return out;
}

/**
 * The model's two score outputs and two regressor outputs, in whatever order the graph
 * lists them → anchor order (the 512 stride-16 rows first, then the 384 stride-32 rows).
 * Shapes: [1, 512, 1], [1, 384, 1], [1, 512, 16], [1, 384, 16].
 */
export function assembleBlazeFaceOutputs(outputs: { shape: number[]; data: Float32Array }[]): { logits: Float32Array; regressors: Float32Array } {
  const pick = (rows: number, cols: number) => {
    const o = outputs.find((t) => t.shape[1] === rows && t.shape[2] === cols);
    if (!o) throw new Error(`BlazeFace output [1, ${rows}, ${cols}] missing (got ${outputs.map((t) => `[${t.shape.join(', ')}]`).join(' ')})`);
    return o.data;
  };
  const concat = (a: Float32Array, b: Float32Array) => {
    const out = new Float32Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  return { logits: concat(pick(512, 1), pick(384, 1)), regressors: concat(pick(512, 16), pick(384, 16)) };
}

/** The expression with the highest probability; null for an empty or non-finite output. */
export function expressionFromScores(probs: ArrayLike<number>, labels: readonly Expression[] = EMOTION_LABELS): { label: Expression; score: number } | null {
  if (probs.length !== labels.length) throw new RangeError(`expected ${labels.length} expression scores, got ${probs.length}`);
  let best = -1;
  for (let i = 0; i < probs.length; i++) if (Number.isFinite(probs[i]) && (best < 0 || probs[i]! > probs[best]!)) best = i;
  if (best < 0) return null;
  return { label: labels[best]!, score: Math.round(Math.min(1, Math.max(0, probs[best]!)) * 1e4) / 1e4 };
}
