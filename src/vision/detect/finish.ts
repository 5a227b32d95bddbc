/**
 * The last steps every detector shares, whatever runtime produced its candidates: fuse a
 * mirrored second look when asked, score threshold + class-wise NMS, then the public
 * Detection shape (COCO names, rounded numbers, runner-up classes). Pure.
 */
import { COCO_CLASSES } from './coco.js';
import { nms, type Candidate } from './nms.js';
import { alternativesOf, fuseLooks, mirrorBox } from './second-look.js';
import type { Box, Detection } from './types.js';

/** Runner-up classes at or above this score are reported as `alternatives`. */
export const ALTERNATIVE_MIN_SCORE = 0.15;

export interface FinishOptions {
  minScore: number;
  iouThreshold: number;
  crossClassIouThreshold: number;
  maxDetections?: number;
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** Plain-look candidates + the mirrored look's (boxes still mirrored) → fused candidates. */
export function fuseMirrored(plain: Candidate[], mirrored: Candidate[]): Candidate[] {
  return fuseLooks(plain, mirrored.map((c) => ({ ...c, box: mirrorBox(c.box) })), COCO_CLASSES.length);
}

export function finishDetections(candidates: Candidate[], o: FinishOptions): Detection[] {
  const kept = nms(candidates, {
    minScore: o.minScore,
    iouThreshold: o.iouThreshold,
    crossClassIouThreshold: o.crossClassIouThreshold,
    maxDetections: o.maxDetections ?? 100,
  });
  return kept.map((c) => {
    const alternatives = alternativesOf(c, COCO_CLASSES, ALTERNATIVE_MIN_SCORE).map((a) => ({ label: a.label, score: round4(a.score) }));
    return {
      label: COCO_CLASSES[c.classIndex] ?? `class ${c.classIndex}`,
      score: round4(c.score),
      box: c.box.map(round4) as Box,
      ...(alternatives.length ? { alternatives } : {}),
    };
  });
}
