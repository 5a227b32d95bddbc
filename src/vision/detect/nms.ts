/**
 * Score threshold + greedy non-maximum suppression, per class. Pure: detectors decode their
 * raw outputs into candidates, then call `nms`.
 */
import type { Box } from './types.js';

export interface Candidate {
  /** Index into the detector's class list (COCO_CLASSES for all shipped models). */
  classIndex: number;
  score: number;
  /** Normalised [x0, y0, x1, y1] of the upright image. */
  box: Box;
  /**
   * The score of every class for this box (COCO_CLASSES order), for detectors that score
   * all classes per box (SSD). Feeds the second look and `Detection.alternatives`.
   */
  classScores?: Float32Array;
}

export interface NmsOptions {
  /** Candidates scoring below this are dropped before suppression. Default 0. */
  minScore?: number;
  /** A box is suppressed by a better box of the same class overlapping it this much. Default 0.45. */
  iouThreshold?: number;
  /** At most this many results. Default 100. */
  maxDetections?: number;
  /**
   * Also suppress boxes of *other* classes overlapping a better box at least this much
   * (the same object called both car and truck). Default: off (Infinity).
   */
  crossClassIouThreshold?: number;
  /** Consider only this many best-scoring candidates (speed bound for dense heads). Default 3000. */
  maxCandidates?: number;
}

export function area(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

/** The per-class scores of a candidate (one-hot at its score when the model gave only one). */
export function scoresOf(c: Candidate, classes: number): Float32Array {
  if (c.classScores) return c.classScores;
  const v = new Float32Array(classes);
  v[c.classIndex] = c.score;
  return v;
}

/** The candidate of `pool` overlapping `c` most, if by `min` IoU or more: the same object seen twice. */
export function partner(c: Candidate, pool: readonly Candidate[], min: number): Candidate | undefined {
  let best: Candidate | undefined;
  let bestIou = min;
  for (const p of pool) {
    const o = iou(c.box, p.box);
    if (o >= bestIou) {
      bestIou = o;
      best = p;
    }
  }
  return best;
}

/** Intersection over union of two [x0, y0, x1, y1] boxes; 0 when either is empty. */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy NMS: best score first; a candidate is kept unless a kept box of the same class
 * overlaps it by more than `iouThreshold` (or one of any class by more than
 * `crossClassIouThreshold`). Returns the kept candidates, best first. Ties keep input order.
 */
export function nms(candidates: readonly Candidate[], opts: NmsOptions = {}): Candidate[] {
  const minScore = opts.minScore ?? 0;
  const iouThreshold = opts.iouThreshold ?? 0.45;
  const maxDetections = opts.maxDetections ?? 100;
  const cross = opts.crossClassIouThreshold ?? Number.POSITIVE_INFINITY;
  const maxCandidates = opts.maxCandidates ?? 3000;
  if (maxDetections <= 0) return [];
  const pool = candidates
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => c.score >= minScore && Number.isFinite(c.score) && area(c.box) > 0)
    .sort((a, b) => b.c.score - a.c.score || a.i - b.i)
    .slice(0, maxCandidates)
    .map(({ c }) => c);
  const kept: Candidate[] = [];
  for (const cand of pool) {
    let suppressed = false;
    for (const k of kept) {
      const overlap = iou(k.box, cand.box);
      if (k.classIndex === cand.classIndex ? overlap > iouThreshold : overlap > cross) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    kept.push(cand);
    if (kept.length >= maxDetections) break;
  }
  return kept;
}

/** Clamps a box to the unit square and orders its corners. */
export function clampBox(b: Box): Box {
  const c = (v: number) => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0);
  const [x0, y0, x1, y1] = [c(b[0]), c(b[1]), c(b[2]), c(b[3])];
  return [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
}
