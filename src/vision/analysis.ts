/**
 * What the vision models are asked for one image, and what they answer. These plain
 * objects cross the worker-thread boundary, so they hold only structured-cloneable data.
 */

/** Normalised [x0, y0, x1, y1], 0..1 of the upright image. */
export type NormBox = [number, number, number, number];

export interface RawImage {
  width: number;
  height: number;
  /** Row-major 8-bit RGB. */
  rgb: Uint8Array;
}

export interface AnalysisNeeds {
  detect?: { minScore?: number; maxDetections?: number };
  /** Masks for these boxes, or for the detections when `boxes` is absent. */
  segment?: { boxes?: Array<{ box: NormBox; label: string }> };
  /** Read text; the prompt picks the reader (Chinese prompts → PP-OCR, else tesseract with fallback). */
  ocr?: { prompt: string };
  /** Rate the image for sexually explicit content (nsfwjs). */
  safety?: boolean;
  /** Faces, expressions and body poses; person boxes come from `detect` when both are asked. */
  people?: boolean;
}

export interface PersonFace {
  box: NormBox;
  score: number;
  expression?: { label: string; score: number };
}

export interface PersonPose {
  box: NormBox;
  score: number;
  posture?: 'standing' | 'sitting' | 'lying' | 'unknown';
}

export interface DetectedObject {
  label: string;
  score: number;
  box: NormBox;
}

export interface ObjectMask {
  label: string;
  /** The box the mask covers. */
  box: NormBox;
  /** `data:image/png;base64,…` 8-bit greyscale probability map of the box region. */
  png: string;
  score: number;
}

export interface ReadLine {
  text: string;
  confidence: number;
  box: NormBox;
}

/** Milliseconds per stage, for benchmarks and logs. */
export type StageTimes = Partial<Record<'detect' | 'samEncode' | 'samDecode' | 'ocr' | 'safety' | 'people', number>>;

import type { SafetyRating } from './safety/ratings.js';
/** Gemini's safetyRatings entry, for the categories a model assessed. */
export type { SafetyRating };

export interface Analysis {
  objects?: DetectedObject[];
  masks?: ObjectMask[];
  text?: ReadLine[];
  safety?: SafetyRating[];
  people?: { faces: PersonFace[]; poses: PersonPose[] };
  times: StageTimes;
}
