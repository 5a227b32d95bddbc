/**
 * Runs the installed models on one image: detection, then masks for the detected (or
 * given) boxes with the SAM encoder run once, then text. Lives inside a worker thread in
 * production (worker.ts) and can run in-process for tests and benchmarks.
 */
import type { Analysis, AnalysisNeeds, DetectedObject, DetectStages, MaskHelp, MaskShare, ObjectMask, RawImage, ReadLine, SafetyRating } from './analysis.js';
import type { FollowUpHelp } from './detect/follow-up.js';
import type { HelpOffer, WorkShare } from './shared-work.js';
import type { SamEmbedding } from './segment/sam.js';
import { measureTextLikeness } from './text-page.js';

type DetectOpts = { minScore?: number; maxDetections?: number };

export interface DetectCapability {
  /**
   * With shares, part of the work may come from helper tasks on another thread (shared-work.ts):
   * `lend` the detector's lendable part, `followUp` the label check and closer looks.
   */
  detect(img: RawImage, opts?: DetectOpts, shares?: { lend?: WorkShare; followUp?: HelpOffer }): Promise<DetectedObject[]>;
  /** The helper's side of a share: runs the lendable part unless the owner has claimed it. Only detectors that have one. */
  lend?(img: RawImage, opts: DetectOpts, share: WorkShare): Promise<boolean>;
  /** The helper's side of a shared follow-up (detect/follow-up.ts): the items the owner has not claimed. */
  helpFollowUp?(img: RawImage, help: FollowUpHelp, share: WorkShare): Promise<number>;
  /** The score the detector asserts a label from (its default threshold), when known. */
  readonly threshold?: number;
  /** Resize / inference / post-processing ms of the last detect(), when the detector keeps them. */
  lastTimes?(): DetectStages | undefined;
}

/**
 * The SAM encoder's output for this image, passed in when the pool has it cached (`cached`),
 * and handed back when it had to be computed (`computed`), for the pool to cache.
 */
export interface EmbeddingReuse {
  cached?: SamEmbedding;
  computed?: SamEmbedding;
}

export interface SegmentCapability {
  /**
   * Encodes once (or reuses `reuse.cached`), then one mask per box; with `share`, a helper on
   * another worker may make some; `wide`: the encoder may use every core (nothing else runs).
   */
  masks(
    img: RawImage,
    boxes: Array<{ box: DetectedObject['box']; label: string }>,
    times: Analysis['times'],
    opts?: { reuse?: EmbeddingReuse | undefined; share?: MaskShare | undefined; wide?: boolean | undefined },
  ): Promise<{ masks: ObjectMask[]; fromHelper: number; encoderThreads?: number }>;
  /** The helper's side of a shared segmentation: masks for the boxes the owner has not claimed. */
  helpMasks(help: MaskHelp, share: WorkShare): Promise<number>;
}

export interface ReadCapability {
  read(img: RawImage, prompt: string): Promise<ReadLine[]>;
}

export interface SafetyCapability {
  rate(img: RawImage): Promise<SafetyRating[]>;
}

export interface PeopleCapability {
  analyse(img: RawImage, personBoxes: DetectedObject['box'][]): Promise<NonNullable<Analysis['people']>>;
}

export interface VisionModels {
  detect?: DetectCapability;
  segment?: SegmentCapability;
  ocr?: ReadCapability;
  safety?: SafetyCapability;
  people?: PeopleCapability;
}

const now = () => performance.now();

export async function analyseImage(caps: VisionModels, image: RawImage, needs: AnalysisNeeds, reuse?: EmbeddingReuse): Promise<Analysis> {
  const times: Analysis['times'] = {};
  const result: Analysis = { times };
  const threshold = caps.detect?.threshold;
  // Masks, people and the page test use only the objects the detector asserts.
  const asserted = () => (result.objects ?? []).filter((o) => threshold === undefined || o.score >= threshold);
  if (needs.detect && caps.detect) {
    const t = now();
    const { share, followUp } = needs.detect;
    result.objects = await caps.detect.detect(image, detectOptions(needs.detect, threshold), { ...(share ? { lend: share } : {}), ...(followUp ? { followUp } : {}) });
    if (threshold !== undefined) result.detectThreshold = threshold;
    times.detect = now() - t;
    const stages = caps.detect.lastTimes?.();
    if (stages) result.detectStages = { ...stages };
  }
  if (needs.segment && caps.segment) {
    const boxes = needs.segment.boxes ?? asserted().map((o) => ({ box: o.box, label: o.label }));
    const made = boxes.length ? await caps.segment.masks(image, boxes, times, { reuse, share: needs.segment.share, wide: needs.segment.wide }) : { masks: [], fromHelper: 0 };
    result.masks = made.masks;
    if (made.fromHelper) result.masksFromHelper = made.fromHelper;
    if (made.encoderThreads) result.samEncodeThreads = made.encoderThreads;
  }
  if (needs.people && caps.people) {
    const t = now();
    const personBoxes = asserted().filter((o) => o.label === 'person').map((o) => o.box);
    result.people = await caps.people.analyse(image, personBoxes);
    times.people = now() - t;
  }
  if (needs.safety && caps.safety) {
    const t = now();
    result.safety = await caps.safety.rate(image);
    times.safety = now() - t;
  }
  if (needs.ocr && caps.ocr) {
    let read = true;
    if (needs.ocr.onlyIfPage) {
      const sure = threshold === undefined ? 0 : threshold + needs.ocr.onlyIfPage.sureShare * (1 - threshold);
      result.textPage = mostlyUnoccupied((result.objects ?? []).filter((o) => o.score >= sure)) && measureTextLikeness(image).textLike;
      read = result.textPage;
    }
    if (read) {
      const t = now();
      result.text = await caps.ocr.read(image, needs.ocr.prompt);
      times.ocr = now() - t;
    }
  }
  return result;
}

/**
 * The helper task of a lent detection (shared-work.ts): runs the detector's lendable
 * part for the owner's detect(), with the same options, unless the owner kept it.
 */
export async function lendDetectPart(caps: VisionModels, image: RawImage, needs: NonNullable<AnalysisNeeds['detect']>): Promise<boolean> {
  if (!caps.detect?.lend || !needs.share) return false;
  return caps.detect.lend(image, detectOptions(needs, caps.detect.threshold), needs.share);
}

/** The helper task of a shared follow-up (detect/follow-up.ts). Resolves with how many items it ran. */
export async function helpFollowUp(caps: VisionModels, image: RawImage, help: FollowUpHelp, share: WorkShare): Promise<number> {
  if (!caps.detect?.helpFollowUp) {
    share.port.close();
    return 0;
  }
  return caps.detect.helpFollowUp(image, help, share);
}

/** The detector's options for a request's needs: "possible" detections go down to threshold × belowThreshold. */
function detectOptions(needs: NonNullable<AnalysisNeeds['detect']>, threshold: number | undefined): DetectOpts {
  const { belowThreshold, share: _share, followUp: _followUp, ...opts } = needs;
  if (opts.minScore === undefined && belowThreshold !== undefined && threshold !== undefined) opts.minScore = threshold * belowThreshold;
  return opts;
}

/**
 * Few asserted objects covering little of the image (books aside: pages are often seen as
 * one): the case where a page of text is worth measuring for.
 */
function mostlyUnoccupied(objects: DetectedObject[]): boolean {
  const others = objects.filter((o) => o.label !== 'book');
  const area = others.reduce((s, o) => s + (o.box[2] - o.box[0]) * (o.box[3] - o.box[1]), 0);
  return others.length <= 2 && area < 0.3;
}
