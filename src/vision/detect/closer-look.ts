/**
 * A closer look at boxes whose class is in doubt: when the detectors scored another class
 * close to the label on the same box (a horse called "sheep" with "horse" close behind), the
 * box is cut out with a margin of context and detected again, so the object fills the
 * model's input instead of a fraction of it. The closer look then chooses among the classes
 * the first look proposed for that box (never a new one), by its own scores.
 *
 * Why zoom and not the label check or a mirrored look (docs/detectors.md): on the eval's
 * labelled photos the ImageNet classifier has no strong view on horses (darknet's horse is
 * "kuvasz" or "llama" to it) and mirroring narrows close calls without turning them; the
 * same SSD on the box and 30 % of context around it says "horse 0.98" for darknet's horse
 * and keeps every right label of the boxes it looked at.
 *
 * Pure decisions plus one sharp crop; the detector that looks again is passed in.
 */
import sharp from 'sharp';
import { hasCloseAlternative, type LoadedDetector } from './index.js';
import { ALTERNATIVE_MIN_SCORE } from './finish.js';
import { iou } from './nms.js';
import type { Box, Detection, RgbImage } from './types.js';

/**
 * Context added on each side of the box, as a share of its width and height: on the eval 0.3 and
 * 0.4 decided every box in doubt right, 0.2 and 0.5 one box wrong each (docs/detectors.md).
 */
export const CLOSER_MARGIN = 0.3;
/** A box of the closer look overlapping the first look's box at least this much is the same object. */
export const SAME_BOX_IOU = 0.5;
/** Most boxes looked at again per image (the best-scoring of those in doubt). */
export const MAX_CLOSER_LOOKS = 4;
/** A region narrower or lower than this (pixels, margin included) has nothing more to show: not looked at. */
export const MIN_REGION_SIDE = 8;

/** Whether an asserted detection's class is in doubt: another class scored close to it on the same box. */
export function classInDoubt(d: Detection, threshold: number): boolean {
  return d.score >= threshold && hasCloseAlternative(d);
}

/** The pixel rectangle of `box` plus the margin (clamped to the image) and the box within it (normalised). */
export function closerRegion(width: number, height: number, box: Box, margin = CLOSER_MARGIN): { left: number; top: number; width: number; height: number; box: Box } {
  const bw = (box[2] - box[0]) * width;
  const bh = (box[3] - box[1]) * height;
  const left = Math.max(0, Math.floor(box[0] * width - margin * bw));
  const top = Math.max(0, Math.floor(box[1] * height - margin * bh));
  const w = Math.max(1, Math.min(width, Math.ceil(box[2] * width + margin * bw)) - left);
  const h = Math.max(1, Math.min(height, Math.ceil(box[3] * height + margin * bh)) - top);
  const inRegion: Box = [(box[0] * width - left) / w, (box[1] * height - top) / h, (box[2] * width - left) / w, (box[3] * height - top) / h];
  return { left, top, width: w, height: h, box: inRegion };
}

/**
 * The first look's detection as the closer look sees it. Each class the first look proposed
 * (label and alternatives) gets its best score on the closer look's boxes that are the same
 * object; the best of them becomes the label if it reaches `minScore`, with the closer look's
 * score and runner-ups. Otherwise (the object not found again, or found as something the
 * first look did not propose) the first look stands.
 */
export function closerVerdict(first: Detection, closer: readonly Detection[], boxInRegion: Box, minScore: number): Detection {
  const proposed = new Set([first.label, ...(first.alternatives ?? []).map((a) => a.label)]);
  const scores = new Map<string, number>();
  for (const d of closer) {
    if (iou(d.box, boxInRegion) < SAME_BOX_IOU) continue;
    for (const c of [{ label: d.label, score: d.score }, ...(d.alternatives ?? [])]) {
      if (proposed.has(c.label) && c.score > (scores.get(c.label) ?? 0)) scores.set(c.label, c.score);
    }
  }
  const ranked = [...scores].sort((a, b) => b[1] - a[1]);
  const best = ranked[0];
  if (!best || best[1] < minScore) return first;
  const alternatives = ranked.slice(1).filter(([, s]) => s >= ALTERNATIVE_MIN_SCORE).map(([label, score]) => ({ label, score }));
  return { label: best[0], score: best[1], box: first.box, ...(alternatives.length ? { alternatives } : {}) };
}

/** Looks again at a region of the image: a detector's detections on it, down to ALTERNATIVE_MIN_SCORE. */
export type LookAgain = (region: RgbImage) => Promise<Detection[]>;

/** How `detector` looks again: its own lookAgain (the fused one: SSD alone), else detect() itself. */
export function lookAgainWith(detector: Pick<LoadedDetector, 'detect' | 'lookAgain'>): LookAgain {
  return detector.lookAgain ? (region) => detector.lookAgain!(region) : (region) => detector.detect(region, { minScore: ALTERNATIVE_MIN_SCORE });
}

/** Cuts a region out of an upright RGB image. */
export async function cutRegion(img: RgbImage, r: { left: number; top: number; width: number; height: number }): Promise<RgbImage> {
  const raw = Buffer.from(img.rgb.buffer, img.rgb.byteOffset, img.rgb.byteLength);
  const out = await sharp(raw, { raw: { width: img.width, height: img.height, channels: 3 } }).extract(r).raw().toBuffer();
  return { width: r.width, height: r.height, rgb: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
}

/** The boxes a closer look is for: asserted with their class in doubt, the MAX_CLOSER_LOOKS best-scoring. */
export function boxesInDoubt<T extends Detection>(detections: readonly T[], threshold: number): T[] {
  return detections
    .filter((d) => classInDoubt(d, threshold))
    .sort((a, b) => b.score - a.score)
    .slice(0, MAX_CLOSER_LOOKS);
}

/** The closer look at one box in doubt: its verdict, or undefined when its region is too small to look at. */
export async function lookAtBox(img: RgbImage, d: Detection, threshold: number, look: LookAgain): Promise<Detection | undefined> {
  const region = closerRegion(img.width, img.height, d.box);
  if (region.width < MIN_REGION_SIDE || region.height < MIN_REGION_SIDE) return undefined;
  return closerVerdict(d, await look(await cutRegion(img, region)), region.box, threshold);
}
