/**
 * Runs the installed models on one image: detection, then masks for the detected (or
 * given) boxes with the SAM encoder run once, then text. Lives inside a worker thread in
 * production (worker.ts) and can run in-process for tests and benchmarks.
 */
import type { Analysis, AnalysisNeeds, DetectedObject, ObjectMask, RawImage, ReadLine, SafetyRating } from './analysis.js';

export interface DetectCapability {
  detect(img: RawImage, opts?: { minScore?: number; maxDetections?: number }): Promise<DetectedObject[]>;
}

export interface SegmentCapability {
  /** Encodes once, then one mask per box. */
  masks(img: RawImage, boxes: Array<{ box: DetectedObject['box']; label: string }>, times: Analysis['times']): Promise<ObjectMask[]>;
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

export interface Capabilities {
  detect?: DetectCapability;
  segment?: SegmentCapability;
  ocr?: ReadCapability;
  safety?: SafetyCapability;
  people?: PeopleCapability;
}

const now = () => performance.now();

export async function analyseImage(caps: Capabilities, image: RawImage, needs: AnalysisNeeds): Promise<Analysis> {
  const times: Analysis['times'] = {};
  const result: Analysis = { times };
  if (needs.detect && caps.detect) {
    const t = now();
    result.objects = await caps.detect.detect(image, needs.detect);
    times.detect = now() - t;
  }
  if (needs.segment && caps.segment) {
    const boxes = needs.segment.boxes ?? (result.objects ?? []).map((o) => ({ box: o.box, label: o.label }));
    result.masks = boxes.length ? await caps.segment.masks(image, boxes, times) : [];
  }
  if (needs.people && caps.people) {
    const t = now();
    const personBoxes = (result.objects ?? []).filter((o) => o.label === 'person').map((o) => o.box);
    result.people = await caps.people.analyse(image, personBoxes);
    times.people = now() - t;
  }
  if (needs.safety && caps.safety) {
    const t = now();
    result.safety = await caps.safety.rate(image);
    times.safety = now() - t;
  }
  if (needs.ocr && caps.ocr) {
    const t = now();
    result.text = await caps.ocr.read(image, needs.ocr.prompt);
    times.ocr = now() - t;
  }
  return result;
}
