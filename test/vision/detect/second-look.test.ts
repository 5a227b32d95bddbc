/** The second look's fusion, the runner-up classes and the "possibly" rule, on numbers. */
import { describe, expect, it } from 'vitest';
import { CLOSE_ALTERNATIVE, CONFIDENT_SCORE, COCO_CLASSES, isUncertain } from '../../../src/vision/detect/index.js';
import type { Candidate } from '../../../src/vision/detect/nms.js';
import { alternativesOf, fuseLooks, mirrorBox } from '../../../src/vision/detect/second-look.js';
import type { Box } from '../../../src/vision/detect/types.js';

const idx = (name: string) => COCO_CLASSES.indexOf(name as never);
function cand(box: Box, scores: Record<string, number>): Candidate {
  const classScores = new Float32Array(80);
  for (const [k, v] of Object.entries(scores)) classScores[idx(k)] = v;
  const best = Object.entries(scores).sort((a, b) => b[1] - a[1])[0]!;
  return { classIndex: idx(best[0]), score: best[1], box, classScores };
}

describe('mirrorBox', () => {
  it('maps a box of the mirrored image back, and is its own inverse', () => {
    expect(mirrorBox([0.1, 0.2, 0.3, 0.4])).toEqual([0.7, 0.2, 0.9, 0.4]);
    const b: Box = [0.25, 0.1, 0.5, 0.9];
    expect(mirrorBox(mirrorBox(b))).toEqual(b);
  });
});

describe('fuseLooks', () => {
  it('averages the class scores of boxes that are one object, so the looks vote on the label', () => {
    const plain = [cand([0.1, 0.1, 0.5, 0.5], { sheep: 0.9, horse: 0.3 })];
    const mirrored = [cand([0.12, 0.1, 0.5, 0.52], { sheep: 0.2, horse: 0.8 })];
    const fused = fuseLooks(plain, mirrored);
    expect(fused).toHaveLength(2);
    const first = fused[0]!;
    expect(first.score).toBeCloseTo(0.55, 5);
    expect(COCO_CLASSES[first.classIndex]).toBe('horse'); // (0.3 + 0.8) / 2 beats (0.9 + 0.2) / 2
    expect(first.classScores![idx('sheep')]).toBeCloseTo(0.55, 5);
    expect(first.box[0]).toBeCloseTo(0.11, 5);
  });

  it('halves what only one look saw: the other look voted 0', () => {
    const fused = fuseLooks([cand([0, 0, 0.2, 0.2], { cat: 0.8 })], [cand([0.6, 0.6, 0.9, 0.9], { dog: 0.6 })]);
    expect(fused.map((c) => [COCO_CLASSES[c.classIndex], Number(c.score.toFixed(2))])).toEqual([
      ['cat', 0.4],
      ['dog', 0.3],
    ]);
  });

  it('takes a single-class candidate (no classScores) as one-hot at its score', () => {
    const a: Candidate = { classIndex: idx('cat'), score: 0.6, box: [0, 0, 1, 1] };
    const [f] = fuseLooks([a], [a]);
    expect(COCO_CLASSES[f!.classIndex]).toBe('cat');
    expect(f!.score).toBeCloseTo(0.6, 5);
  });
});

describe('alternativesOf', () => {
  it('lists the other classes at or above the floor, best first, at most three', () => {
    const c = cand([0, 0, 1, 1], { sheep: 0.93, horse: 0.36, cow: 0.2, dog: 0.16, cat: 0.1 });
    expect(alternativesOf(c, COCO_CLASSES, 0.15).map((a) => a.label)).toEqual(['horse', 'cow', 'dog']);
    expect(alternativesOf(c, COCO_CLASSES, 0.3)).toEqual([{ label: 'horse', score: expect.closeTo(0.36, 5) }]);
    expect(alternativesOf({ classIndex: 0, score: 0.9, box: [0, 0, 1, 1] }, COCO_CLASSES, 0.1)).toEqual([]);
  });
});

describe('isUncertain', () => {
  it('is true below CONFIDENT_SCORE, or when a runner-up is close, else false', () => {
    expect(isUncertain({ score: CONFIDENT_SCORE - 0.01 })).toBe(true);
    expect(isUncertain({ score: 0.93 })).toBe(false);
    expect(isUncertain({ score: 0.93, alternatives: [{ label: 'dog', score: 0.1 }] })).toBe(false);
    // The horse SSD calls a sheep (0.93) while scoring horse 0.36 on the same box.
    expect(isUncertain({ score: 0.93, alternatives: [{ label: 'horse', score: 0.36 }] })).toBe(true);
    expect(isUncertain({ score: 1, alternatives: [{ label: 'horse', score: CLOSE_ALTERNATIVE }] })).toBe(true);
  });
});
