/**
 * Detection accuracy against hand-labelled boxes: precision / recall at an IoU threshold
 * and VOC-style average precision. Used by bench/detectors.ts; pure.
 */
import { iou } from './nms.js';
import type { Box, Detection } from './types.js';

export interface TruthBox {
  label: string;
  box: Box;
  /** Other labels that are equally right for this object (a pickup: truck or car). */
  also?: string[];
  /** Tiny, occluded or painted: a match is neither a hit nor a false positive, a miss is not a miss. */
  difficult?: boolean;
}

export interface Match {
  /** Per detection, in the order given: 'tp', 'fp', or 'ignored' (matched a difficult box). */
  outcome: Array<'tp' | 'fp' | 'ignored'>;
  /** Non-difficult truth boxes. */
  positives: number;
  /** Non-difficult truth boxes no detection matched. */
  missed: TruthBox[];
}

const labelFits = (t: TruthBox, label: string) => t.label === label || (t.also ?? []).includes(label);

/**
 * Greedy matching, best score first: a detection is a true positive when it overlaps an
 * unmatched truth box of a fitting label by at least `minIou`; each truth box matches once.
 * A detection that matches nothing else but a difficult box is ignored.
 */
export function matchDetections(dets: readonly Detection[], truth: readonly TruthBox[], minIou = 0.5): Match {
  const order = dets.map((_, i) => i).sort((a, b) => dets[b]!.score - dets[a]!.score);
  const used = new Array<boolean>(truth.length).fill(false);
  const outcome = new Array<'tp' | 'fp' | 'ignored'>(dets.length).fill('fp');
  for (const i of order) {
    const d = dets[i]!;
    let best = -1;
    let bestIou = minIou;
    // Prefer a regular box; fall back to a difficult one.
    for (const wantDifficult of [false, true]) {
      for (let j = 0; j < truth.length; j++) {
        const t = truth[j]!;
        if (used[j] || Boolean(t.difficult) !== wantDifficult || !labelFits(t, d.label)) continue;
        const o = iou(d.box, t.box);
        if (o >= bestIou) {
          bestIou = o;
          best = j;
        }
      }
      if (best >= 0) break;
    }
    if (best < 0) continue;
    used[best] = true;
    outcome[i] = truth[best]!.difficult ? 'ignored' : 'tp';
  }
  const missed = truth.filter((t, j) => !t.difficult && !used[j]);
  return { outcome, positives: truth.filter((t) => !t.difficult).length, missed };
}

export interface Scores {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

export function prf(tp: number, fp: number, fn: number): Scores {
  const precision = tp + fp > 0 ? tp / (tp + fp) : 1;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 1;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { tp, fp, fn, precision, recall, f1 };
}

/** Precision / recall over several images, counting only detections scoring ≥ minScore. */
export function scoreAt(
  images: ReadonlyArray<{ dets: readonly Detection[]; truth: readonly TruthBox[] }>,
  minScore: number,
  minIou = 0.5,
): Scores {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const { dets, truth } of images) {
    const m = matchDetections(
      dets.filter((d) => d.score >= minScore),
      truth,
      minIou,
    );
    tp += m.outcome.filter((o) => o === 'tp').length;
    fp += m.outcome.filter((o) => o === 'fp').length;
    fn += m.missed.length;
  }
  return prf(tp, fp, fn);
}

/**
 * Average precision at `minIou`, all classes pooled (every point of the precision/recall
 * curve, precision made monotone, as in VOC 2010+).
 */
export function averagePrecision(
  images: ReadonlyArray<{ dets: readonly Detection[]; truth: readonly TruthBox[] }>,
  minIou = 0.5,
): number {
  const ranked: Array<{ score: number; tp: boolean }> = [];
  let positives = 0;
  for (const { dets, truth } of images) {
    const m = matchDetections(dets, truth, minIou);
    positives += m.positives;
    dets.forEach((d, i) => {
      if (m.outcome[i] !== 'ignored') ranked.push({ score: d.score, tp: m.outcome[i] === 'tp' });
    });
  }
  if (positives === 0) return 0;
  ranked.sort((a, b) => b.score - a.score);
  const precision: number[] = [];
  const recall: number[] = [];
  let tp = 0;
  ranked.forEach((r, k) => {
    if (r.tp) tp++;
    precision.push(tp / (k + 1));
    recall.push(tp / positives);
  });
  for (let k = precision.length - 2; k >= 0; k--) precision[k] = Math.max(precision[k]!, precision[k + 1]!);
  let ap = 0;
  let prevRecall = 0;
  for (let k = 0; k < ranked.length; k++) {
    if (recall[k]! > prevRecall) {
      ap += (recall[k]! - prevRecall) * precision[k]!;
      prevRecall = recall[k]!;
    }
  }
  return ap;
}
