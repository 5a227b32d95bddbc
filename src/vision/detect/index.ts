/**
 * The offline object detectors (COCO-80). `createDetector(id)` builds one; DEFAULT_DETECTOR
 * is what the engine loads unless configured otherwise. See docs/detectors.md for the
 * measurements behind the choice.
 */
import { CenterNetDetector } from './centernet.js';
import { NanoDetDetector } from './nanodet.js';
import { SsdMobileNetDetector } from './ssd-mobilenet.js';
import type { DetectorOptions, TfjsDetector } from './tfjs-detector.js';
import { YOLOV5_LICENCE_WARNING, YoloV5Detector } from './yolov5.js';

export type { Box, Detection, DetectOptions, Detector, RgbImage } from './types.js';
export { COCO_CLASSES, cocoClassesInPrompt, isCocoClass, vocabulary, type CocoClass, type PromptClasses } from './coco.js';
export { iou, nms, type Candidate, type NmsOptions } from './nms.js';
export { fetchModelPackage, findModelFile, ModelNotInstalledError, type ModelPackage } from './model-files.js';
export { CenterNetDetector, NanoDetDetector, SsdMobileNetDetector, YoloV5Detector, YOLOV5_LICENCE_WARNING };

export const DETECTOR_IDS = ['centernet', 'ssd-mobilenet', 'nanodet', 'yolov5s'] as const;
export type DetectorId = (typeof DETECTOR_IDS)[number];

export const DEFAULT_DETECTOR: DetectorId = 'centernet';

export interface CreateDetectorOptions extends DetectorOptions {
  /**
   * Naming an AGPL model (yolov5s) is the opt-in; creating one prints a licence warning
   * unless the caller has acknowledged it here.
   */
  acceptAgpl?: boolean;
  /** Where the licence warning goes. Default: console.warn. */
  warn?: (message: string) => void;
}

/** A detector by id. Weights load on `load()` (or the first `detect()`), not here. */
export function createDetector(id: string, opts: CreateDetectorOptions = {}): TfjsDetector<unknown, unknown> {
  switch (id) {
    case 'centernet':
      return new CenterNetDetector(opts);
    case 'ssd-mobilenet':
      return new SsdMobileNetDetector(opts);
    case 'nanodet':
      return new NanoDetDetector(opts);
    case 'yolov5s':
      if (!opts.acceptAgpl) (opts.warn ?? ((m: string) => console.warn(m)))(`warning: detector yolov5s: ${YOLOV5_LICENCE_WARNING}`);
      return new YoloV5Detector(opts);
    default:
      throw new Error(`unknown detector ${JSON.stringify(id)}; known: ${DETECTOR_IDS.join(', ')}`);
  }
}
