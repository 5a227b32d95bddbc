/**
 * `ssd-centernet`: SSD-MobileNetV2 and CenterNet (both on onnxruntime, both dependencies)
 * run on the same photo, their boxes fused by ./fusion.ts. Two models
 * that rarely make the same mistake: on the eval's labelled photos the fusion found more of
 * the objects than SSD alone with a third of its hallucinated labels (docs/detectors.md).
 *
 * onnxruntime-node runs a session synchronously on the calling thread, so in one worker the
 * two run one after the other and a detection costs their sum (quiet: 51.8 ms against SSD's
 * 15.6 ms and CenterNet's 37.5 ms alone, docs/detectors.md). Given a share (../shared-work.ts),
 * SSD's part is offered to another model thread while this one runs CenterNet, so on an
 * idle server a detection costs about CenterNet alone; on a busy one it runs both here, as
 * without the share.
 */
import { OnnxCenterNetDetector } from './centernet-onnx.js';
import { ALTERNATIVE_MIN_SCORE, finishDetections } from './finish.js';
import { workTogether, type WorkShare } from '../shared-work.js';
import type { Candidate } from './nms.js';
import { FUSED_CENTERNET_INPUT, FUSED_MIN_SCORE, FUSION, fuseDetectors, type FusionOptions } from './fusion.js';
import type { SessionTuning } from './onnx/session.js';
import { checkImage } from './preprocess.js';
import { SECOND_LOOK_FLOOR } from './second-look.js';
import { SSD_PACKAGE } from './ssd-mobilenet.js';
import { OnnxSsdDetector, type DetectTimes } from './ssd-onnx.js';
import type { DetectOptions, Detection, Detector, RgbImage } from './types.js';

export interface FusedDetectorOptions extends SessionTuning {
  modelDir?: string;
  fusion?: FusionOptions;
  /** CenterNet's input side (multiple of 32). Default FUSED_CENTERNET_INPUT. */
  centernetInput?: number;
}

export class FusedDetector implements Detector {
  readonly id = 'ssd-centernet';
  /** Both weights' licences: SSD's Apache-2.0, CenterNet's MIT. */
  readonly licence = 'Apache-2.0 AND MIT';
  readonly runtime = 'onnxruntime';
  /** The first model's package (CenterNet's is @vladmandic/human, also a dependency). */
  readonly pkg = SSD_PACKAGE;
  readonly defaultMinScore = FUSED_MIN_SCORE;
  readonly iouThreshold = 0.45;
  readonly crossClassIouThreshold = 0.9;
  readonly secondLook = false;
  /**
   * resize: the longer of the two input preparations (see DetectTimes); infer: the rest of the concurrent part; post:
   * fusion + NMS; lent: whether SSD's part ran on another thread.
   */
  lastTimes: DetectTimes & { lent: boolean } = { resize: 0, infer: 0, post: 0, lent: false };

  private readonly ssd: OnnxSsdDetector;
  private readonly centernet: OnnxCenterNetDetector;
  private readonly fusion: FusionOptions;

  constructor(options: FusedDetectorOptions = {}) {
    const tuning: SessionTuning & { modelDir?: string } = {
      ...(options.intraOpThreads !== undefined ? { intraOpThreads: options.intraOpThreads } : {}),
      ...(options.allowSpinning !== undefined ? { allowSpinning: options.allowSpinning } : {}),
      ...(options.modelDir !== undefined ? { modelDir: options.modelDir } : {}),
    };
    this.ssd = new OnnxSsdDetector(tuning);
    this.centernet = new OnnxCenterNetDetector({ ...tuning, inputSize: options.centernetInput ?? FUSED_CENTERNET_INPUT });
    this.fusion = options.fusion ?? FUSION;
  }

  async load(): Promise<void> {
    await Promise.all([this.ssd.load(), this.centernet.load()]);
  }

  /**
   * Detections for `img`. With `share`, SSD's candidates come from the thread that claimed
   * the part (lendableCandidates there), unless this thread reaches it first.
   */
  async detect(img: RgbImage, opts: DetectOptions = {}, share?: WorkShare): Promise<Detection[]> {
    checkImage(img);
    await this.load();
    const minScore = opts.minScore ?? this.defaultMinScore;
    const floor = this.floor(opts);
    this.ssd.lastTimes = { resize: 0, infer: 0, post: 0 };
    this.centernet.lastTimes = { resize: 0, infer: 0, post: 0 };
    let t = performance.now();
    let first: Candidate[];
    let second: Candidate[];
    let lent = false;
    if (share) {
      // CenterNet, the slower, first: by the time it is done a helper has usually run SSD.
      second = await this.centernet.candidates(img, floor);
      const part = await workTogether(share, 1, () => this.ssd.candidates(img, false, floor));
      first = part.results[0]!;
      lent = part.fromHelper > 0;
    } else {
      [first, second] = await Promise.all([this.ssd.candidates(img, false, floor), this.centernet.candidates(img, floor)]);
    }
    const wall = performance.now() - t;
    const resize = Math.max(this.ssd.lastTimes.resize, this.centernet.lastTimes.resize);
    t = performance.now();
    const out = finishDetections(fuseDetectors(first, second, this.fusion), {
      minScore,
      iouThreshold: this.iouThreshold,
      crossClassIouThreshold: this.crossClassIouThreshold,
      ...(opts.maxDetections !== undefined ? { maxDetections: opts.maxDetections } : {}),
    });
    this.lastTimes = { resize, infer: Math.max(0, wall - resize), post: performance.now() - t, lent };
    return out;
  }

  /** The part another thread may run for a detect() with the same options: SSD's candidates. */
  async lendableCandidates(img: RgbImage, opts: DetectOptions = {}): Promise<Candidate[]> {
    checkImage(img);
    await this.ssd.load();
    return this.ssd.candidates(img, false, this.floor(opts));
  }

  /** A closer look at a region (./closer-look.ts): SSD alone, which turned every box of the eval it looked at as well as both models did. */
  lookAgain(region: RgbImage): Promise<Detection[]> {
    return this.ssd.detect(region, { minScore: ALTERNATIVE_MIN_SCORE });
  }

  /** Each model is decoded down to the floor, so a box one model barely saw still has a partner. */
  private floor(opts: DetectOptions): number {
    return Math.min(opts.minScore ?? this.defaultMinScore, SECOND_LOOK_FLOOR);
  }

  dispose(): void {
    this.ssd.dispose();
    this.centernet.dispose();
  }
}
