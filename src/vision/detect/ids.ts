/**
 * The detector ids, the one list config.ts (the --detector flag), the CLI's pull command and
 * the detector factory share. A module of its own with no imports, so reading the
 * configuration does not load TF.js or onnxruntime.
 */
export const DETECTOR_IDS = ['ssd-centernet', 'centernet', 'ssd-mobilenet', 'nanodet', 'yolov5s'] as const;
export type DetectorId = (typeof DETECTOR_IDS)[number];

/** The detectors with an ONNX conversion (the fused one runs only there); the others run on TF.js. */
export const ONNX_DETECTORS: readonly DetectorId[] = ['ssd-centernet', 'ssd-mobilenet', 'centernet'];

/**
 * Detectors with a part worth running on a second model thread (their lendableCandidates,
 * ../shared-work.ts): the fused one, whose SSD half then runs beside CenterNet, not after it.
 */
export const LENDING_DETECTORS: readonly DetectorId[] = ['ssd-centernet'];
