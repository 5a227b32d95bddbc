/**
 * The object-detector contract of the offline engine: COCO's 80 classes, boxes normalised
 * to the upright image. Every detector (see ./index.ts) implements it with its own pre- and
 * post-processing; callers never see model input sizes or letterboxes.
 */

/** Normalised [x0, y0, x1, y1], 0..1 of the upright image (x0 ≤ x1, y0 ≤ y1). */
export type Box = [number, number, number, number];

/** Another class the detector gave the same object, with its score on the same scale. */
export interface Alternative {
  label: string;
  /** 0..1 */
  score: number;
}

export interface Detection {
  /** COCO class name, as in COCO_CLASSES (e.g. 'dog', 'traffic light'). */
  label: string;
  /**
   * 0..1, on each detector's own scale (ssd-centernet: the fused score, asserted from 0.4).
   * For ssd-mobilenet the score is calibrated on the labelled photos
   * (docs/detectors.md): on 53 labelled photos, at CONFIDENT_SCORE (./index.ts) or more
   * the label was right 38 times in 41, from 0.5 to it 13 in 22, so below it say
   * "possibly a cat", not "a cat".
   */
  score: number;
  box: Box;
  /**
   * Optional, and absent for detectors that score one class per box (centernet). The other
   * COCO classes scored for this same box at ALTERNATIVE_MIN_SCORE or more, best first
   * (at most 3): a dog box may carry `[{ label: 'cat', score: 0.64 }]`. A close second
   * (see isUncertain in ./index.ts) means the label itself is in doubt, whatever its score.
   */
  alternatives?: Alternative[];
}

/** A decoded upright image: row-major 8-bit RGB, width × height × 3 bytes. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export interface DetectOptions {
  /** Detections scoring below this are dropped. Defaults to the detector's own threshold. */
  minScore?: number;
  /** At most this many detections, best first. Default 100. */
  maxDetections?: number;
}

export interface Detector {
  /** Stable id used in configuration ('centernet', 'ssd-mobilenet', …). */
  readonly id: string;
  /** SPDX licence of the weights. */
  readonly licence: string;
  /** Loads the weights (idempotent; concurrent calls share one load). */
  load(): Promise<void>;
  /** Detections sorted by score, best first. Loads the model on first use. */
  detect(img: RgbImage, opts?: DetectOptions): Promise<Detection[]>;
  /** Frees the model's memory; a later detect() loads it again. */
  dispose(): void;
}
