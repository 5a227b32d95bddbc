/**
 * The object-detector contract of the offline engine: COCO's 80 classes, boxes normalised
 * to the upright image. Every detector (see ./index.ts) implements it with its own pre- and
 * post-processing; callers never see model input sizes or letterboxes.
 */

/** Normalised [x0, y0, x1, y1], 0..1 of the upright image (x0 ≤ x1, y0 ≤ y1). */
export type Box = [number, number, number, number];

export interface Detection {
  /** COCO class name, as in COCO_CLASSES (e.g. 'dog', 'traffic light'). */
  label: string;
  /** 0..1 */
  score: number;
  box: Box;
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
