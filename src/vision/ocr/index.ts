/**
 * Text in images: tesseract.js (English) and PP-OCRv4 via @gutenye/ocr-common (Chinese +
 * Latin), lines with normalised boxes. `readText` picks the engine and falls back from
 * tesseract to paddle as documented in lines.ts; its result carries a `summary` (first line,
 * share of the image that is text) for captions, which `summariseText` also computes from
 * the lines alone.
 */
import { chooseLines, needsFallback, pickReader, respace, type ReaderId, type ScriptHint } from './lines.js';
import { summariseText, type TextSummary } from './summary.js';
import type { DetailedTextReader, ReadDetail, RgbImage, TextLine, TextReader } from './types.js';

export type { Box, DetailedTextReader, Quad, ReadDetail, RgbImage, TextLine, TextReader } from './types.js';
export { summariseText, unionArea, type TextSummary } from './summary.js';
export { flattenIllumination, toGrey, toPgm, type GreyImage } from './illumination.js';
export {
  chooseLines,
  detectScript,
  linesScore,
  mergeLines,
  needsFallback,
  normaliseConfidence,
  pickReader,
  quadToBox,
  respace,
  sortReadingOrder,
  textAngle,
  type ReaderId,
  type ScriptHint,
} from './lines.js';
export { DEFAULT_TESSERACT_FLOOR, TesseractReader, tesseractPaths, type TesseractOptions } from './tesseract.js';
export { DEFAULT_PADDLE_FLOOR, DEFAULT_PADDLE_MAX_SIDE, PaddleReader, paddleModelPaths, type PaddleOptions } from './paddle.js';

export interface OcrReaders {
  /** English; `readDetailed` (TesseractReader has it) enables the fallback to paddle. */
  tesseract?: TextReader | DetailedTextReader;
  /** Chinese + Latin. */
  paddle?: TextReader;
}

export interface ReadTextOptions {
  /** The user's prompt: CJK writing or a question about Chinese text picks paddle. */
  prompt?: string;
  /** What the image text is already known to be; overrides the prompt. */
  scriptHint?: ScriptHint;
  /** Run paddle when tesseract could not read what it saw (`needsFallback`). Default true. */
  fallback?: boolean;
}

export interface ReadTextResult {
  /** The reader whose lines these are. */
  reader: ReaderId;
  lines: TextLine[];
  /** Readers that ran, in order (two when tesseract fell back to paddle). */
  ran: ReaderId[];
  /** First line, line and character counts, share of the image that is text (`summariseText` of `lines`). */
  summary: TextSummary;
}

const isDetailed = (r: TextReader): r is DetailedTextReader => typeof (r as Partial<DetailedTextReader>).readDetailed === 'function';

/** Reads the text of `img` with the reader `pickReader` chooses, falling back to paddle when tesseract could not read it cleanly. */
export async function readText(img: RgbImage, readers: OcrReaders, options: ReadTextOptions = {}): Promise<ReadTextResult> {
  const { reader, lines, ran } = await readWith(img, readers, options);
  return { reader, lines, ran, summary: summariseText(lines) };
}

async function readWith(img: RgbImage, readers: OcrReaders, options: ReadTextOptions): Promise<Omit<ReadTextResult, 'summary'>> {
  const { tesseract, paddle } = readers;
  if (!tesseract && !paddle) throw new Error('readText: no OCR reader configured');
  const first = pickReader(options.prompt ?? '', options.scriptHint);
  if (!tesseract || (first === 'paddle' && paddle)) return { reader: 'paddle', lines: await paddle!.read(img), ran: ['paddle'] };
  const detail: ReadDetail = isDetailed(tesseract) ? await tesseract.readDetailed(img) : { lines: await tesseract.read(img), rejected: [] };
  const viaTesseract = { reader: 'tesseract' as ReaderId, lines: detail.lines, ran: ['tesseract' as ReaderId] };
  if (!paddle || options.fallback === false || !needsFallback(detail.lines, detail.rejected)) return viaTesseract;
  const viaPaddle = { reader: 'paddle' as ReaderId, lines: respace(await paddle.read(img), detail.lines), ran: ['tesseract', 'paddle'] as ReaderId[] };
  const best = chooseLines(viaTesseract, viaPaddle);
  return { ...best, ran: ['tesseract', 'paddle'] };
}
