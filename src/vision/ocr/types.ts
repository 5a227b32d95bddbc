/**
 * Text in images: what an OCR engine returns and how the engine is driven.
 *
 * Boxes are axis-aligned and normalised to 0..1 of the upright image the reader was given
 * (x over its width, y over its height), so they survive any later resize of that image.
 */

/** Normalised `[x0, y0, x1, y1]`, 0..1, x0 ≤ x1 and y0 ≤ y1. */
export type Box = [x0: number, y0: number, x1: number, y1: number];

export interface TextLine {
  /** The line's text, trimmed, with single spaces between words. */
  text: string;
  /** 0..1 (the engines' own scales are mapped onto this; see lines.ts `normaliseConfidence`). */
  confidence: number;
  /** Normalised 0..1 of the upright image. */
  box: Box;
  /**
   * The line's rotated rectangle when the reader knows it (PP-OCR does): corners top-left,
   * top-right, bottom-right, bottom-left, normalised like `box`. `box` is the axis-aligned box
   * around it. Reading order uses it so that the lines of a tilted page stay apart.
   */
  quad?: Quad;
}

/** Four normalised corners: top-left, top-right, bottom-right, bottom-left. */
export type Quad = [tl: [number, number], tr: [number, number], br: [number, number], bl: [number, number]];

/** Decoded, upright pixels: `rgb` is width × height × 3 bytes, row-major, no padding. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export interface TextReader {
  /** 'tesseract' or 'paddle'. */
  readonly id: string;
  /** Languages of the text it can read (BCP 47 primary tags, e.g. 'en', 'zh'). */
  readonly languages: string[];
  /** Loads the model(s). Idempotent; `read` calls it when needed. */
  load(): Promise<void>;
  /** The lines of text in `img`, in reading order (top to bottom, left to right). */
  read(img: RgbImage): Promise<TextLine[]>;
  /** Frees the model(s); a later `read` loads them again. */
  dispose(): Promise<void>;
}

/** What a reader kept and what it dropped under its confidence floor. */
export interface ReadDetail {
  lines: TextLine[];
  /**
   * Fragments with some letter or digit that fell under the confidence floor (whole lines,
   * or words inside kept lines): the signal for a fallback to another reader.
   */
  rejected: TextLine[];
}

/** A reader that can also report the lines it dropped (tesseract does). */
export interface DetailedTextReader extends TextReader {
  readDetailed(img: RgbImage): Promise<ReadDetail>;
}
