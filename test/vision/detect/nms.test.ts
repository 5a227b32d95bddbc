import { describe, expect, it } from 'vitest';
import { clampBox, iou, nms, type Candidate } from '../../../src/vision/detect/nms.js';
import type { Box } from '../../../src/vision/detect/types.js';

const c = (classIndex: number, score: number, box: Box): Candidate => ({ classIndex, score, box });

describe('iou', () => {
  it('is 1 for identical boxes and 0 for disjoint or touching ones', () => {
    expect(iou([0, 0, 0.5, 0.5], [0, 0, 0.5, 0.5])).toBeCloseTo(1);
    expect(iou([0, 0, 0.2, 0.2], [0.5, 0.5, 1, 1])).toBe(0);
    expect(iou([0, 0, 0.5, 0.5], [0.5, 0, 1, 0.5])).toBe(0);
  });
  it('computes intersection over union', () => {
    // two 0.4×0.4 squares overlapping by 0.2×0.4: inter .08, union .16+.16-.08 = .24
    expect(iou([0, 0, 0.4, 0.4], [0.2, 0, 0.6, 0.4])).toBeCloseTo(0.08 / 0.24);
    // containment: small inside big
    expect(iou([0, 0, 1, 1], [0.25, 0.25, 0.75, 0.75])).toBeCloseTo(0.25);
  });
  it('is 0 for empty boxes', () => {
    expect(iou([0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5])).toBe(0);
  });
});

describe('nms', () => {
  it('keeps the best of overlapping boxes of one class, best first', () => {
    const out = nms([c(16, 0.6, [0.1, 0.1, 0.5, 0.5]), c(16, 0.9, [0.12, 0.1, 0.52, 0.5]), c(16, 0.7, [0.6, 0.6, 0.9, 0.9])]);
    expect(out.map((d) => d.score)).toEqual([0.9, 0.7]);
  });
  it('does not let one class suppress another (class-wise)', () => {
    const out = nms([c(2, 0.8, [0.1, 0.1, 0.5, 0.5]), c(7, 0.7, [0.12, 0.1, 0.5, 0.5])]);
    expect(out.map((d) => d.classIndex)).toEqual([2, 7]);
  });
  it('suppresses across classes only above crossClassIouThreshold', () => {
    const cands = [c(2, 0.8, [0.1, 0.1, 0.5, 0.5]), c(7, 0.7, [0.1, 0.1, 0.5, 0.51])];
    expect(nms(cands, { crossClassIouThreshold: 0.9 })).toHaveLength(1);
    expect(nms(cands, { crossClassIouThreshold: 0.99 })).toHaveLength(2);
  });
  it('keeps overlapping boxes below the IoU threshold', () => {
    const a = c(0, 0.9, [0, 0, 0.4, 0.4]);
    const b = c(0, 0.8, [0.2, 0, 0.6, 0.4]); // IoU 1/3
    expect(nms([a, b], { iouThreshold: 0.45 })).toHaveLength(2);
    expect(nms([a, b], { iouThreshold: 0.3 })).toHaveLength(1);
  });
  it('applies the score threshold and the maximum count', () => {
    const many = Array.from({ length: 10 }, (_, i) => c(0, i / 10, [i / 10, 0, i / 10 + 0.05, 0.05]));
    expect(nms(many, { minScore: 0.5 }).map((d) => d.score)).toEqual([0.9, 0.8, 0.7, 0.6, 0.5]);
    expect(nms(many, { minScore: 0, maxDetections: 3 })).toHaveLength(3);
    expect(nms(many, { maxDetections: 0 })).toEqual([]);
  });
  it('drops empty boxes and NaN scores, and keeps input order on ties', () => {
    const out = nms([
      c(0, 0.5, [0.1, 0.1, 0.1, 0.3]),
      c(0, Number.NaN, [0, 0, 0.2, 0.2]),
      c(1, 0.4, [0, 0, 0.2, 0.2]),
      c(2, 0.4, [0.5, 0.5, 0.7, 0.7]),
    ]);
    expect(out.map((d) => d.classIndex)).toEqual([1, 2]);
  });
  it('does not mutate its input', () => {
    const input = [c(0, 0.1, [0, 0, 1, 1]), c(0, 0.9, [0, 0, 1, 1])];
    const copy = JSON.parse(JSON.stringify(input));
    nms(input);
    expect(input).toEqual(copy);
  });
});

describe('clampBox', () => {
  it('clamps to the unit square and orders corners', () => {
    expect(clampBox([-0.1, 1.2, 0.5, 0.3])).toEqual([0, 0.3, 0.5, 1]);
    expect(clampBox([Number.NaN, 0, 1, 1])).toEqual([0, 0, 1, 1]);
  });
});
