/**
 * A second opinion from the same model: the image is also run mirrored left-to-right and
 * the two looks are fused box by box. A real object scores alike in both looks; a label
 * the model half-guessed (a cat called dog, a horse called sheep) rarely wins both, so
 * averaging the per-class scores of matching boxes lowers confident mistakes and lifts
 * the right class where the looks disagree. Measured in docs/detectors.md; pure.
 */
import { partner, scoresOf, type Candidate } from './nms.js';
import type { Alternative, Box } from './types.js';

/** Boxes of the two looks overlapping at least this much are one object. */
export const SAME_OBJECT_IOU = 0.5;
/** Each look is decoded down to this score, so a box one look barely saw still has a partner. */
export const SECOND_LOOK_FLOOR = 0.1;

/** A box of the mirrored image → the same box in the original image. */
export function mirrorBox(b: Box): Box {
  return [1 - b[2], b[1], 1 - b[0], b[3]];
}

function fuseOne(c: Candidate, other: Candidate | undefined, classes: number): Candidate {
  const a = scoresOf(c, classes);
  const b = other ? scoresOf(other, classes) : undefined;
  const scores = new Float32Array(classes);
  let best = 0;
  for (let k = 0; k < classes; k++) {
    // No partner means the other look saw nothing there: it votes 0 for every class.
    scores[k] = (a[k]! + (b ? b[k]! : 0)) / 2;
    if (scores[k]! > scores[best]!) best = k;
  }
  const box: Box = other ? [0, 1, 2, 3].map((i) => (c.box[i]! + other.box[i]!) / 2) as Box : c.box;
  return { classIndex: best, score: scores[best]!, box, classScores: scores };
}

/**
 * Fuses the candidates of the plain look with those of the mirrored look (already mapped
 * back with mirrorBox). Every candidate of either look gets the mean of its own class
 * scores and its partner's in the other look; NMS afterwards keeps one box per object.
 */
export function fuseLooks(plain: readonly Candidate[], mirrored: readonly Candidate[], classes = 80): Candidate[] {
  return [...plain.map((c) => fuseOne(c, partner(c, mirrored, SAME_OBJECT_IOU), classes)), ...mirrored.map((c) => fuseOne(c, partner(c, plain, SAME_OBJECT_IOU), classes))];
}

/** Other classes scored for the same box at `minScore` or more, best first, at most `max`. */
export function alternativesOf(c: Candidate, names: readonly string[], minScore: number, max = 3): Alternative[] {
  if (!c.classScores) return [];
  const out: Alternative[] = [];
  c.classScores.forEach((score, k) => {
    if (k !== c.classIndex && score >= minScore && names[k]) out.push({ label: names[k]!, score });
  });
  return out.sort((x, y) => y.score - x.score).slice(0, max);
}
