import { describe, expect, it } from 'vitest';
import { summariseText, unionArea } from '../../../src/vision/ocr/summary.js';
import type { Box } from '../../../src/vision/ocr/types.js';

describe('unionArea', () => {
  it('counts overlaps once', () => {
    expect(unionArea([])).toBe(0);
    expect(unionArea([[0, 0, 0.5, 0.5]])).toBeCloseTo(0.25);
    expect(
      unionArea([
        [0, 0, 0.5, 0.5],
        [0.25, 0.25, 0.75, 0.75],
      ]),
    ).toBeCloseTo(0.4375);
    expect(
      unionArea([
        [0, 0, 1, 1],
        [0.2, 0.2, 0.4, 0.4],
      ]),
    ).toBeCloseTo(1);
    expect(unionArea([[0.3, 0.3, 0.3, 0.9]])).toBe(0); // empty boxes add nothing
  });
});

describe('summariseText', () => {
  const l = (text: string, box: Box) => ({ text, confidence: 0.9, box });

  it('gives the first line, counts and how much of the image is text', () => {
    const s = summariseText([
      l('7', [0.9, 0.02, 0.95, 0.06]), // a page number: not what the page is headed with
      l('Region-based segmentation', [0.02, 0.06, 0.76, 0.2]),
      l('Let us first determine markers', [0.02, 0.25, 0.99, 0.35]),
      l('—', [0.02, 0.5, 0.1, 0.52]), // no letter: ignored
    ]);
    expect(s.firstLine).toBe('Region-based segmentation');
    expect(s.lineCount).toBe(3);
    expect(s.charCount).toBe(1 + 24 + 26);
    expect(s.block).toEqual([0.02, 0.02, 0.99, 0.35]);
    expect(s.blockArea).toBeCloseTo(0.97 * 0.33);
    expect(s.area).toBeCloseTo(0.05 * 0.04 + 0.74 * 0.14 + 0.97 * 0.1);
  });

  it('is empty for no text', () => {
    expect(summariseText([])).toEqual({ lineCount: 0, charCount: 0, area: 0, blockArea: 0 });
    expect(summariseText([l('| —', [0, 0, 1, 1])]).firstLine).toBeUndefined();
  });

  it('counts a Han character once and takes a one-character page as its own first line', () => {
    const s = summariseText([l('图', [0.1, 0.1, 0.2, 0.2])]);
    expect(s.firstLine).toBe('图');
    expect(s.charCount).toBe(1);
  });
});
