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
  detect?: {
    minScore?: number;
    maxDetections?: number;
    /**
     * Also return detections down to this fraction of the detector's own threshold (when
     * `minScore` is not given), for answers that say "possibly" instead of staying silent;
     * `Analysis.detectThreshold` tells them apart. See src/engine/compose/confidence.ts.
     */
    belowThreshold?: number;
    /**
     * Set by the vision pool: this detection's lendable part may be run by a helper task on
     * another worker (shared-work.ts). Transferred with the task.
     */
    share?: WorkShare;
    /**
     * Set by the vision pool: the label check and the closer looks after the detector may be
     * shared with a helper task on another worker (detect/follow-up.ts).
     */
    followUp?: HelpOffer;
  };
  /** Masks for these boxes, or for the detections when `boxes` is absent. */
  segment?: {
    boxes?: Array<{ box: NormBox; label: string }>;
    /** Set by the vision pool: the boxes' masks may be shared with a helper task on another worker. */
    share?: MaskShare;
    /** Set by the vision pool when no other request is running: SAM's encoder may use every core. */
    wide?: boolean;
  };
  /**
   * Read text; the prompt picks the reader (Chinese prompts → PP-OCR, else tesseract with
   * fallback). `onlyIfPage`: read only when the image measures like a page of text and the
   * detector found little else (a caption then says it is a page), so ordinary photos do
   * not pay for the reader.
   */
  ocr?: {
    prompt: string;
    /**
     * `sureShare`: objects count as filling the image only from threshold + sureShare·(1 −
     * threshold) up (the "sure" band of src/engine/compose/confidence.ts), so a page that
     * the detector half-takes for a refrigerator is still read.
     */
    onlyIfPage?: { sureShare: number };
  };
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
  /** Other classes the detector scored for this box, best first (absent for single-class detectors). */
  alternatives?: Array<{ label: string; score: number }>;
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
import type { HelpOffer, WorkShare } from './shared-work.js';
import type { SamEmbedding } from './segment/sam.js';

/**
 * Sharing a segmentation's boxes with a second worker (shared-work.ts): once the encoder has
 * run, the owner posts `MaskHelp` on `ready` (to the pool, which then queues the helper), and
 * the two work through the boxes' masks with `work`.
 */
export type MaskShare = HelpOffer;

/** What a mask helper needs: the image's SAM embedding (in shared memory) and the boxes. */
export interface MaskHelp {
  embedding: SamEmbedding;
  boxes: Array<{ box: NormBox; label: string }>;
}
/** Gemini's safetyRatings entry, for the categories a model assessed. */
export type { SafetyRating };

/**
 * The detect stage split (ms): sharp resize, inference, decoding + NMS; whether the fused
 * detector's SSD part ran on another thread; the label check and the closer looks run on this
 * thread; how many of those follow-up items a helper on another worker ran.
 */
export interface DetectStages {
  resize: number;
  infer: number;
  post: number;
  lent?: boolean;
  closer?: number;
  verify?: number;
  helped?: number;
}

export interface Analysis {
  objects?: DetectedObject[];
  /** The detector's own threshold: objects below it were asked for as "possible" ones. */
  detectThreshold?: number;
  /** Whether the image measured like a page of text (when reading depended on it). */
  textPage?: boolean;
  masks?: ObjectMask[];
  /** Intra-op threads SAM's encoder ran on, when it ran (the wide session's when nothing else was running). */
  samEncodeThreads?: number;
  /** How many of `masks` a helper task made on another worker (shared-work.ts). */
  masksFromHelper?: number;
  text?: ReadLine[];
  safety?: SafetyRating[];
  people?: { faces: PersonFace[]; poses: PersonPose[] };
  times: StageTimes;
  /** When the detector keeps them. */
  detectStages?: DetectStages;
}
