/**
 * Pure helpers for OCR output: boxes, confidences, reading order, and which engine to use.
 *
 * Which reader (`pickReader`, `needsFallback`, `chooseLines`):
 *  - tesseract (English LSTM) is the default: faster than PP-OCR on pages (1.1 s vs 3.3 s for
 *    skimage's 10-line bw_text.png on a loaded 2-core machine) and exact on clean Latin text,
 *    where PP-OCR drops some spaces ("themarkers"), but it cannot read Chinese at all.
 *  - PP-OCR (paddle) reads Chinese and Latin. It is chosen up front when the caller says the
 *    image text is CJK (`detectedScriptHint: 'cjk'`), or, with no hint, when the prompt is
 *    written in CJK or asks about Chinese/Japanese text.
 *  - Otherwise tesseract runs first (on a copy with the lighting evened out, illumination.ts),
 *    and paddle runs as well unless tesseract read the image cleanly (`needsFallback`):
 *     - tesseract kept nothing. Its page layout analysis finds no text in photos: it kept
 *       no line of any of the six OpenCV scene-text photos (street signs, a shop front), all
 *       of which PP-OCR's text detector reads. This makes paddle's detector run on every
 *       photo without text too (one detection pass, ~0.2-0.3 s on a 640-px image, no
 *       recognition when it finds nothing);
 *     - or it dropped at least `FALLBACK_MIN_CHARS` characters (lines or words under its
 *       confidence floor) and more than `FALLBACK_DROPPED_SHARE` of what it kept. This
 *       catches text it reads only in part ("onference Centre" for "Conference Centre" on a
 *       sign next to an arrow) and CJK text nobody announced: tesseract's English model turns
 *       Chinese into low-confidence Latin garbage ("RIFHER FARIA" at 0.20, or a kept line
 *       "XFiR%I OCR 2026" whose first word is at 0.00).
 *    Whichever result carries more confident characters (`linesScore`) wins; PP-OCR's lines
 *    take tesseract's spacing where both read the same characters (`respace`).
 */
import type { Box, Quad, TextLine } from './types.js';

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

/**
 * A reader's four pixel corners (tl, tr, br, bl, as PP-OCR's post-processing orders them)
 * normalised and clamped like `quadToBox`; undefined unless there are exactly four finite ones.
 */
export function normaliseQuad(points: readonly (readonly number[])[], width: number, height: number): Quad | undefined {
  if (points.length !== 4) return undefined;
  const q = points.map((p) => [clamp01((p[0] ?? NaN) / width), clamp01((p[1] ?? NaN) / height)] as [number, number]);
  if (!points.every((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))) return undefined;
  return q as Quad;
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

/**
 * Reading order works in the page's own frame: coordinates in image heights (x × aspect),
 * turned by the page's text angle so that rows run along u and stack along v. A photographed
 * page is often tilted by a few degrees; in image axes the box of each long line then spans
 * the height of its neighbours, every line "overlaps" every other, and all of them were
 * joined into one line in a scrambled order. Readers that report rotated rectangles (PP-OCR)
 * give the angle; without any, the frame is the image's own and nothing changes.
 */
interface Frame {
  cos: number;
  sin: number;
  aspect: number;
}

type Corner = readonly [number, number];

function cornersOf(l: TextLine): readonly Corner[] {
  if (l.quad) return l.quad;
  const [x0, y0, x1, y1] = l.box;
  return [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
  ];
}

/**
 * The direction rows run in, in radians (positive: rising to the left, y grows downwards),
 * from the rotated rectangles of lines that are wider than tall: their median angle weighted
 * by length. 0 when no line has a rectangle, or none is tilted by less than 45°.
 */
export function textAngle(lines: readonly TextLine[], aspect = 1): number {
  const samples: { angle: number; weight: number }[] = [];
  for (const l of lines) {
    if (!l.quad) continue;
    const [tl, tr, br, bl] = l.quad;
    const dx = (tr[0] - tl[0] + (br[0] - bl[0])) * aspect;
    const dy = tr[1] - tl[1] + (br[1] - bl[1]);
    const hx = (bl[0] - tl[0] + (br[0] - tr[0])) * aspect;
    const hy = bl[1] - tl[1] + (br[1] - tr[1]);
    const length = Math.hypot(dx, dy);
    // Vertical text and square blobs say nothing about the direction of rows.
    if (!(length > Math.hypot(hx, hy))) continue;
    const angle = Math.atan2(dy, dx);
    if (Math.abs(angle) < Math.PI / 4) samples.push({ angle, weight: length });
  }
  if (samples.length === 0) return 0;
  samples.sort((a, b) => a.angle - b.angle);
  const half = samples.reduce((s, x) => s + x.weight, 0) / 2;
  let acc = 0;
  for (const x of samples) {
    acc += x.weight;
    if (acc >= half) return x.angle;
  }
  return samples.at(-1)!.angle;
}

function frameOf(lines: readonly TextLine[], aspect: number): Frame {
  const a = textAngle(lines, aspect);
  return { cos: Math.cos(a), sin: Math.sin(a), aspect };
}

/** A line's extent in the page frame: [u0, v0, u1, v1] in image heights. */
function framed(l: TextLine, f: Frame): Box {
  let [u0, v0, u1, v1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of cornersOf(l)) {
    const X = x * f.aspect;
    const u = X * f.cos + y * f.sin;
    const v = -X * f.sin + y * f.cos;
    if (u < u0) u0 = u;
    if (u > u1) u1 = u;
    if (v < v0) v0 = v;
    if (v > v1) v1 = v;
  }
  return [u0, v0, u1, v1];
}

/** A rectangle of the page frame back in normalised image corners (tl, tr, br, bl). */
function unframe(b: Box, f: Frame): Quad {
  const at = (u: number, v: number): [number, number] => [(u * f.cos - v * f.sin) / f.aspect, u * f.sin + v * f.cos];
  return [at(b[0], b[1]), at(b[2], b[1]), at(b[2], b[3]), at(b[0], b[3])];
}

const height = (b: Box): number => b[3] - b[1];

function verticalOverlap(a: Box, b: Box): number {
  return Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
}

interface Row {
  box: Box;
  items: { line: TextLine; f: Box }[];
}

function rowsOf(lines: readonly TextLine[], frame: Frame): Row[] {
  const items = lines.map((line) => ({ line, f: framed(line, frame) }));
  items.sort((a, b) => a.f[1] + a.f[3] - (b.f[1] + b.f[3]));
  const rows: Row[] = [];
  for (const item of items) {
    let best: Row | undefined;
    let bestOverlap = 0;
    for (const row of rows) {
      const overlap = verticalOverlap(row.box, item.f);
      const need = 0.5 * Math.min(height(row.box), height(item.f));
      if (overlap > 0 && overlap >= need && overlap > bestOverlap) {
        best = row;
        bestOverlap = overlap;
      }
    }
    if (best) {
      best.items.push(item);
      best.box = boxUnion(best.box, item.f);
    } else rows.push({ box: item.f, items: [item] });
  }
  rows.sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0]);
  for (const r of rows) r.items.sort((a, b) => a.f[0] - b.f[0]);
  return rows;
}

/**
 * Groups lines into rows: a line joins a row when it overlaps the row across the text
 * direction by at least half the smaller of the two heights. Rows are ordered top to bottom
 * (by their top edge), lines within a row left to right, all in the page frame (see above).
 * `aspect` is the image's width / height (boxes are normalised per axis); default 1.
 */
export function groupRows(lines: readonly TextLine[], aspect = 1): TextLine[][] {
  return rowsOf(lines, frameOf(lines, aspect)).map((r) => r.items.map((i) => i.line));
}

/** Top-to-bottom, left-to-right (in the page frame; `aspect` as in `groupRows`). */
export function sortReadingOrder(lines: readonly TextLine[], aspect = 1): TextLine[] {
  return groupRows(lines, aspect).flat();
}

export interface MergeOptions {
  /** Image width / height: boxes are normalised per axis, so gaps need it to compare with heights. Default 1. */
  aspect?: number;
  /** Merge neighbours in a row whose horizontal gap is at most this many line heights. Default 1.5. */
  maxGap?: number;
}

/**
 * Reading order, then fragments of one row that sit close together (a gap of at most
 * `maxGap` line heights along the row) become one line: text joined (`joinText`), boxes
 * united, confidence the character-weighted mean. Fragments further apart (columns, table
 * cells) stay separate.
 */
export function mergeLines(lines: readonly TextLine[], options: MergeOptions = {}): TextLine[] {
  const aspect = options.aspect ?? 1;
  const maxGap = options.maxGap ?? 1.5;
  const frame = frameOf(lines, aspect);
  const out: TextLine[] = [];
  const finish = (cur: { line: TextLine; f: Box; merged: boolean }): void => {
    // A merged line's rectangle is the union in the page frame; a single line keeps its own.
    out.push(cur.merged && cur.line.quad ? { ...cur.line, quad: unframe(cur.f, frame) } : cur.line);
  };
  for (const row of rowsOf(lines, frame)) {
    let cur: { line: TextLine; f: Box; merged: boolean } | undefined;
    for (const { line, f } of row.items) {
      if (cur) {
        const gap = (f[0] - cur.f[2]) / Math.max(1e-9, Math.max(height(cur.f), height(f)));
        if (gap <= maxGap) {
          const wa = Math.max(1, visibleLength(cur.line.text));
          const wb = Math.max(1, visibleLength(line.text));
          const merged: TextLine = {
            text: joinText(cur.line.text, line.text),
            confidence: (cur.line.confidence * wa + line.confidence * wb) / (wa + wb),
            box: boxUnion(cur.line.box, line.box),
          };
          if (cur.line.quad || line.quad) merged.quad = cur.line.quad ?? line.quad!;
          cur = { line: merged, f: boxUnion(cur.f, f), merged: true };
          continue;
        }
        finish(cur);
      }
      cur = { line: { ...line }, f, merged: false };
    }
    if (cur) finish(cur);
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

/** Tesseract dropped at least this many characters (fewer are specks of texture). */
export const FALLBACK_MIN_CHARS = 4;
/** …and more than this share of what it kept: the page was not read cleanly. */
export const FALLBACK_DROPPED_SHARE = 0.1;

const chars = (lines: readonly TextLine[]): number => lines.reduce((n, l) => n + visibleLength(l.text), 0);

/** See the file comment: tesseract kept nothing, or saw text it could not read. */
export function needsFallback(kept: readonly TextLine[], rejected: readonly TextLine[]): boolean {
  const keptChars = chars(kept.filter((l) => hasContent(l.text)));
  if (keptChars === 0) return true;
  const dropped = chars(rejected.filter((l) => hasContent(l.text)));
  return dropped >= FALLBACK_MIN_CHARS && dropped > FALLBACK_DROPPED_SHARE * keptChars;
}

/** Σ visible characters × confidence: how much confidently read text a result holds. */
export function linesScore(lines: readonly TextLine[]): number {
  return lines.reduce((s, l) => s + visibleLength(l.text) * l.confidence, 0);
}

/** The better of a first and a fallback result: the fallback must score strictly higher. */
export function chooseLines<T extends { lines: readonly TextLine[] }>(first: T, fallback: T): T {
  return linesScore(fallback.lines) > linesScore(first.lines) ? fallback : first;
}

const squeeze = (text: string): string => text.replace(/\s+/gu, '');

/**
 * PP-OCR's lines with tesseract's word spacing where both read the same characters on the
 * same row. PP-OCR drops some spaces between Latin words ("themarkers are found" on
 * skimage's page.png, where tesseract reads "the markers are found"); when the two readings
 * agree on every character but the spaces, tesseract's spacing is the one to trust. Any
 * other difference keeps PP-OCR's line as it is.
 */
export function respace(lines: readonly TextLine[], spaced: readonly TextLine[]): TextLine[] {
  return lines.map((line) => {
    const bare = squeeze(line.text);
    const twin = spaced.find(
      (s) => s.text !== line.text && squeeze(s.text) === bare && verticalOverlap(s.box, line.box) > 0.5 * Math.min(height(s.box), height(line.box)),
    );
    return twin ? { ...line, text: twin.text } : line;
  });
}
