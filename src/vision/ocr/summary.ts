/**
 * What a caption needs to know about the text a reader found: its first line and how much
 * of the image it takes up. Pure, and it needs only `{ text, box }` per line, so it works
 * on a reader's `TextLine`s and on the `ReadLine`s an analysis carries across threads alike.
 */
import { hasContent, visibleLength } from './lines.js';
import type { Box } from './types.js';

export interface TextSummary {
  /** Lines with some letter or digit. */
  lineCount: number;
  /** Visible characters over those lines (a Han character counts once). */
  charCount: number;
  /**
   * The first line in reading order with at least two letters or digits (a stray "1" or
   * bullet above a heading is not what the page is headed with).
   */
  firstLine?: string;
  /** Share of the image covered by the lines' boxes (their union), 0..1. */
  area: number;
  /** The box around all the lines: the text block. */
  block?: Box;
  /** Share of the image the text block covers, 0..1. */
  blockArea: number;
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/gu;
const boxArea = (b: Box): number => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);

/**
 * Area of the union of axis-aligned boxes, exactly: the x edges cut the plane into slabs,
 * and in each slab the boxes spanning it cover a union of y intervals.
 */
export function unionArea(boxes: readonly Box[]): number {
  const live = boxes.filter((b) => b[2] > b[0] && b[3] > b[1]);
  const xs = [...new Set(live.flatMap((b) => [b[0], b[2]]))].sort((a, b) => a - b);
  let area = 0;
  for (let i = 0; i + 1 < xs.length; i++) {
    const x0 = xs[i]!;
    const x1 = xs[i + 1]!;
    const spans = live
      .filter((b) => b[0] <= x0 && b[2] >= x1)
      .map((b) => [b[1], b[3]] as const)
      .sort((a, b) => a[0] - b[0]);
    let covered = 0;
    let end = -Infinity;
    for (const [y0, y1] of spans) {
      if (y1 <= end) continue;
      covered += y1 - Math.max(y0, end);
      end = y1;
    }
    area += covered * (x1 - x0);
  }
  return area;
}

/** Summary of lines given in reading order (as every reader returns them). */
export function summariseText(lines: readonly { text: string; box: Box }[]): TextSummary {
  const kept = lines.filter((l) => hasContent(l.text));
  if (kept.length === 0) return { lineCount: 0, charCount: 0, area: 0, blockArea: 0 };
  const first = kept.find((l) => (l.text.match(LETTER_OR_DIGIT)?.length ?? 0) >= 2) ?? kept[0]!;
  const block = kept.reduce<Box>(
    (b, l) => [Math.min(b[0], l.box[0]), Math.min(b[1], l.box[1]), Math.max(b[2], l.box[2]), Math.max(b[3], l.box[3])],
    [Infinity, Infinity, -Infinity, -Infinity],
  );
  return {
    lineCount: kept.length,
    charCount: kept.reduce((n, l) => n + visibleLength(l.text), 0),
    firstLine: first.text,
    area: Math.min(1, unionArea(kept.map((l) => l.box))),
    block,
    blockArea: Math.min(1, boxArea(block)),
  };
}
