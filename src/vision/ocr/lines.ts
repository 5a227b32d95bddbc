/**
 * Pure helpers for OCR output: boxes, confidences, reading order, and which engine to use.
 *
 * Which reader (`pickReader`, `needsFallback`, `chooseLines`):
 *  - tesseract (English LSTM) is the default: ~5× faster than PP-OCR and exact on clean Latin
 *    text, but it cannot read Chinese at all.
 *  - PP-OCR (paddle) reads Chinese and Latin. It is chosen up front when the caller says the
 *    image text is CJK (`detectedScriptHint: 'cjk'`), or, with no hint, when the prompt is
 *    written in CJK or asks about Chinese/Japanese text.
 *  - Otherwise tesseract runs first, and paddle runs as a fallback when tesseract saw
 *    text-like marks it could not read: at least `FALLBACK_MIN_CHARS` characters in lines or
 *    words under its confidence floor, and more of them than in the lines it kept. Tesseract's English
 *    model turns Chinese into low-confidence Latin garbage ("RIFHER FARIA" at 0.20, or a kept
 *    line "XFiR%I OCR 2026" whose first word is at 0.00), so this catches CJK text nobody
 *    announced. Photos without text rarely trigger it: with full layout analysis (PSM 3)
 *    tesseract returns nothing at all for the darknet photos and the painting. When it does
 *    trigger, paddle costs one more detection pass (~0.2-0.3 s on a 640-px image).
 *    Whichever result carries more confident characters (`linesScore`) wins.
 */
import type { Box, TextLine } from './types.js';

export type ReaderId = 'tesseract' | 'paddle';
export type ScriptHint = 'cjk' | 'latin';
export type Point = readonly [number, number];

// ---- boxes --------------------------------------------------------------------------------

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/**
 * Axis-aligned normalised box around a polygon given in pixels (PP-OCR returns quads:
 * rotated rectangles, corner order not relied on). Clamped to the image.
 */
export function quadToBox(points: readonly Point[] | readonly (readonly number[])[], width: number, height: number): Box {
  if (points.length === 0) throw new Error('quadToBox: no points');
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const p of points) {
    const x = p[0] ?? NaN;
    const y = p[1] ?? NaN;
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new Error('quadToBox: non-finite point');
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return [clamp01(x0 / width), clamp01(y0 / height), clamp01(x1 / width), clamp01(y1 / height)];
}

/** A pixel rectangle (tesseract's `bbox`) → normalised box, clamped. */
export function pixelBoxToBox(b: { x0: number; y0: number; x1: number; y1: number }, width: number, height: number): Box {
  return quadToBox(
    [
      [b.x0, b.y0],
      [b.x1, b.y1],
    ],
    width,
    height,
  );
}

export function boxUnion(a: Box, b: Box): Box {
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

// ---- confidence ---------------------------------------------------------------------------

/**
 * An engine's confidence → 0..1. `scale` is the engine's full scale: 100 for tesseract
 * (percent), 1 for PP-OCR (mean of per-character softmax maxima). NaN/±∞ → 0.
 */
export function normaliseConfidence(value: number, scale = 1): number {
  if (!Number.isFinite(value) || !(scale > 0)) return 0;
  return clamp01(value / scale);
}

// ---- text ---------------------------------------------------------------------------------

const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;
const CJK_GLOBAL = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/gu;
const LATIN_GLOBAL = /\p{Script=Latin}/gu;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/** Collapses runs of whitespace and trims. */
export function cleanText(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

/** Has at least one letter or digit (lines of only punctuation/bars are noise). */
export function hasContent(text: string): boolean {
  return LETTER_OR_DIGIT.test(text);
}

/** Characters that are not whitespace (code points, so a Han character counts once). */
export function visibleLength(text: string): number {
  let n = 0;
  for (const ch of text) if (!/\s/u.test(ch)) n++;
  return n;
}

/** The dominant script of `text` between CJK and Latin letters, or undefined if neither. */
export function detectScript(text: string): ScriptHint | undefined {
  const cjk = text.match(CJK_GLOBAL)?.length ?? 0;
  const latin = text.match(LATIN_GLOBAL)?.length ?? 0;
  if (cjk === 0 && latin === 0) return undefined;
  // A Han character carries about a word; weigh it like three Latin letters.
  return cjk * 3 >= latin ? 'cjk' : 'latin';
}

/** Joins two pieces of one line: no space between CJK characters, one space otherwise. */
export function joinText(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  const last = [...a].at(-1) ?? '';
  const first = [...b][0] ?? '';
  return CJK_CHAR.test(last) && CJK_CHAR.test(first) ? a + b : `${a} ${b}`;
}

// ---- reading order ------------------------------------------------------------------------

const height = (b: Box): number => b[3] - b[1];

function verticalOverlap(a: Box, b: Box): number {
  return Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
}

/**
 * Groups lines into rows: a line joins a row when it overlaps the row vertically by at least
 * half the smaller of the two heights. Rows are ordered top to bottom (by their top edge),
 * lines within a row left to right.
 */
export function groupRows(lines: readonly TextLine[]): TextLine[][] {
  const sorted = [...lines].sort((a, b) => a.box[1] + a.box[3] - (b.box[1] + b.box[3]));
  const rows: { box: Box; lines: TextLine[] }[] = [];
  for (const line of sorted) {
    let best: { box: Box; lines: TextLine[] } | undefined;
    let bestOverlap = 0;
    for (const row of rows) {
      const overlap = verticalOverlap(row.box, line.box);
      const need = 0.5 * Math.min(height(row.box), height(line.box));
      if (overlap > 0 && overlap >= need && overlap > bestOverlap) {
        best = row;
        bestOverlap = overlap;
      }
    }
    if (best) {
      best.lines.push(line);
      best.box = boxUnion(best.box, line.box);
    } else rows.push({ box: line.box, lines: [line] });
  }
  rows.sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0]);
  return rows.map((r) => r.lines.sort((a, b) => a.box[0] - b.box[0]));
}

/** Top-to-bottom, left-to-right. */
export function sortReadingOrder(lines: readonly TextLine[]): TextLine[] {
  return groupRows(lines).flat();
}

export interface MergeOptions {
  /** Image width / height: boxes are normalised per axis, so gaps need it to compare with heights. Default 1. */
  aspect?: number;
  /** Merge neighbours in a row whose horizontal gap is at most this many line heights. Default 1.5. */
  maxGap?: number;
}

/**
 * Reading order, then fragments of one row that sit close together (a gap of at most
 * `maxGap` line heights) become one line: text joined (`joinText`), boxes united, confidence
 * the character-weighted mean. Fragments further apart (columns, table cells) stay separate.
 */
export function mergeLines(lines: readonly TextLine[], options: MergeOptions = {}): TextLine[] {
  const aspect = options.aspect ?? 1;
  const maxGap = options.maxGap ?? 1.5;
  const out: TextLine[] = [];
  for (const row of groupRows(lines)) {
    let cur: TextLine | undefined;
    for (const line of row) {
      if (cur) {
        const gap = ((line.box[0] - cur.box[2]) * aspect) / Math.max(1e-9, Math.max(height(cur.box), height(line.box)));
        if (gap <= maxGap) {
          const wa = Math.max(1, visibleLength(cur.text));
          const wb = Math.max(1, visibleLength(line.text));
          cur = {
            text: joinText(cur.text, line.text),
            confidence: (cur.confidence * wa + line.confidence * wb) / (wa + wb),
            box: boxUnion(cur.box, line.box),
          };
          continue;
        }
        out.push(cur);
      }
      cur = { ...line };
    }
    if (cur) out.push(cur);
  }
  return out;
}

// ---- choosing a reader --------------------------------------------------------------------

/** Prompt words that ask about CJK text even when the prompt itself is in English. */
const CJK_PROMPT_WORDS = /\b(chinese|mandarin|cantonese|hanzi|kanji|japanese)\b|中文|汉字|漢字|简体|繁體|繁体|日本語/iu;

/**
 * Which reader to run first. A detected script hint (what the image text is known to be)
 * decides; without one, a prompt written in CJK or asking about Chinese/Japanese text picks
 * paddle (which reads Latin too), and anything else picks tesseract.
 */
export function pickReader(promptText: string, detectedScriptHint?: ScriptHint): ReaderId {
  if (detectedScriptHint === 'cjk') return 'paddle';
  if (detectedScriptHint === 'latin') return 'tesseract';
  if (detectScript(promptText) === 'cjk' || CJK_PROMPT_WORDS.test(promptText)) return 'paddle';
  return 'tesseract';
}

/** Tesseract kept fewer characters than it dropped (and dropped at least this many): try paddle. */
export const FALLBACK_MIN_CHARS = 4;

const chars = (lines: readonly TextLine[]): number => lines.reduce((n, l) => n + visibleLength(l.text), 0);

/** See the file comment: tesseract saw text it could not read. */
export function needsFallback(kept: readonly TextLine[], rejected: readonly TextLine[]): boolean {
  const dropped = chars(rejected.filter((l) => hasContent(l.text)));
  return dropped >= FALLBACK_MIN_CHARS && dropped > chars(kept);
}

/** Σ visible characters × confidence: how much confidently read text a result holds. */
export function linesScore(lines: readonly TextLine[]): number {
  return lines.reduce((s, l) => s + visibleLength(l.text) * l.confidence, 0);
}

/** The better of a first and a fallback result: the fallback must score strictly higher. */
export function chooseLines<T extends { lines: readonly TextLine[] }>(first: T, fallback: T): T {
  return linesScore(fallback.lines) > linesScore(first.lines) ? fallback : first;
}
