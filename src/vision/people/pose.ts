/**
 * Body pose: MoveNet SinglePose Lightning (192×192, 17 COCO keypoints; weights from
 * @vladmandic/human, Apache-2.0 model by Google) run top-down on square crops. This file
 * holds the pure parts: decoding, the crop to refine on, the person check, the box, and
 * the posture heuristic.
 */
import { cropToPixels, squareAround, toNormBox, type Frame, type SquareCrop } from './crop.js';
import { KEYPOINT_NAMES, type Keypoint, type KeypointName, type NormBox, type Posture } from './types.js';

export const MOVENET_INPUT = 192;

/** A keypoint in working-image pixels. */
export interface PixelKeypoint {
  part: KeypointName;
  x: number;
  y: number;
  score: number;
}

/** MoveNet's output [1, 1, 17, 3] rows of (y, x, score), 0..1 over the crop → working pixels. */
export function decodeMoveNet(raw: ArrayLike<number>, crop: SquareCrop): PixelKeypoint[] {
  if (raw.length < 51) throw new RangeError(`MoveNet output has ${raw.length} values, expected 51`);
  return KEYPOINT_NAMES.map((part, i) => {
    const [x, y] = cropToPixels(raw[3 * i + 1]!, raw[3 * i]!, crop);
    return { part, x, y, score: raw[3 * i + 2]! };
  });
}

function bounds(kps: readonly PixelKeypoint[]): [number, number, number, number] {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const k of kps) {
    x0 = Math.min(x0, k.x);
    y0 = Math.min(y0, k.y);
    x1 = Math.max(x1, k.x);
    y1 = Math.max(y1, k.y);
  }
  return [x0, y0, x1, y1];
}

/**
 * The square to run MoveNet on again, around the keypoints it found with some confidence
 * (MoveNet is most accurate when the person fills its input): their bounding box's longer
 * side × `enlarge`. Null when fewer than `minPoints` keypoints reach `minScore`.
 */
export function refineCrop(kps: readonly PixelKeypoint[], minScore = 0.2, minPoints = 3, enlarge = 1.5, minSide = 32): SquareCrop | null {
  const seen = kps.filter((k) => k.score >= minScore);
  if (seen.length < minPoints) return null;
  return squareAround(bounds(seen), enlarge, minSide);
}

export interface PersonCheck {
  /** Mean of the 17 keypoint scores at least this. */
  minMeanScore: number;
  /** At least this many keypoints at or above `keypointScore`. */
  minKeypoints: number;
  keypointScore: number;
}

export const DEFAULT_PERSON_CHECK: PersonCheck = { minMeanScore: 0.25, minKeypoints: 5, keypointScore: 0.3 };

export function meanScore(kps: readonly { score: number }[]): number {
  return kps.length === 0 ? 0 : kps.reduce((s, k) => s + k.score, 0) / kps.length;
}

/**
 * Whether a (refined) MoveNet result is a person. MoveNet always answers 17 points, even on
 * a zebra; on a crop around them a non-person scores low everywhere (mean ≈ 0.1) while a
 * person, even seen from behind, keeps several confident joints.
 */
export function isPerson(kps: readonly PixelKeypoint[], check: PersonCheck = DEFAULT_PERSON_CHECK): boolean {
  return meanScore(kps) >= check.minMeanScore && kps.filter((k) => k.score >= check.keypointScore).length >= check.minKeypoints;
}

/**
 * The person's box from its confident keypoints, in working pixels: the keypoints stop at
 * the eyes and ankles, so the box grows by 10% of its height at the top (head) and bottom
 * (feet), and sideways by the larger of 10% of its width and 5% of its height.
 */
export function poseBoxPixels(kps: readonly PixelKeypoint[], minScore: number): [number, number, number, number] | null {
  const seen = kps.filter((k) => k.score >= minScore);
  if (seen.length === 0) return null;
  const [x0, y0, x1, y1] = bounds(seen);
  const h = y1 - y0;
  const w = x1 - x0;
  const padY = 0.1 * h;
  const padX = Math.max(0.1 * w, 0.05 * h);
  return [x0 - padX, y0 - padY, x1 + padX, y1 + padY];
}

export function poseBox(kps: readonly PixelKeypoint[], minScore: number, f: Frame): NormBox | null {
  const b = poseBoxPixels(kps, minScore);
  return b ? toNormBox(b, f) : null;
}

/** Working-pixel keypoints → normalised ones at or above `minScore`, rounded. */
export function normaliseKeypoints(kps: readonly PixelKeypoint[], minScore: number, f: Frame): Keypoint[] {
  const r = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 1e4) / 1e4;
  return kps.filter((k) => k.score >= minScore).map((k) => ({ part: k.part, x: r(k.x / f.frameWidth), y: r(k.y / f.frameHeight), score: r(k.score) }));
}

// ---- posture ---------------------------------------------------------------------------

/** Thresholds of the posture heuristic, in torso lengths and degrees. */
export const POSTURE_RULES = {
  /** Torso (shoulders' mid → hips' mid) at least this far from vertical: lying. */
  lyingTorsoDeg: 55,
  /** Past this (head below hips) the heuristic gives up. */
  invertedTorsoDeg: 125,
  /** Torso up to this far from vertical counts as upright. */
  uprightTorsoDeg: 35,
  /** Knees less than this far below the hips: thighs level (or pointing at the camera): sitting. */
  sittingThigh: 0.35,
  /** Knees at least this far below the hips: thighs hanging, as when standing. */
  standingThigh: 0.5,
  /** Ankles at least this far below the knees: straight shins (kneeling folds them). */
  standingShin: 0.4,
  /** Without knees: ankles at least this far below the hips: standing; less than sittingLeg: sitting. */
  standingLeg: 1.3,
  sittingLeg: 0.9,
} as const;

type Point = { x: number; y: number };

/**
 * Standing, sitting or lying, from keypoints in *pixel* units (y down), or 'unknown' when
 * the joints that decide it are not seen. Rules, in torso lengths (shoulders' midpoint to
 * hips' midpoint) so they hold at any scale:
 *  - torso ≥ 55° from vertical → lying (inverted past 125° → unknown);
 *  - torso within 35° of vertical, then the legs: knees < 0.35 below the hips → sitting;
 *    knees ≥ 0.5 below → standing if the ankles are unseen or ≥ 0.4 below the knees, else
 *    unknown (kneeling); knees in between or unseen: ankles ≥ 1.3 below the hips →
 *    standing, < 0.9 → sitting;
 *  - anything else (bent over, kneeling, legs unseen) → unknown.
 */
export function classifyPosture(kps: readonly { part: string; x: number; y: number; score: number }[], minScore = 0.3): Posture {
  const get = (part: KeypointName): Point | null => {
    const k = kps.find((p) => p.part === part);
    return k && k.score >= minScore ? k : null;
  };
  const mid = (a: KeypointName, b: KeypointName): Point | null => {
    const p = get(a);
    const q = get(b);
    if (p && q) return { x: (p.x + q.x) / 2, y: (p.y + q.y) / 2 };
    return p ?? q;
  };
  const shoulders = mid('left_shoulder', 'right_shoulder');
  const hips = mid('left_hip', 'right_hip');
  if (!shoulders || !hips) return 'unknown';
  const dx = hips.x - shoulders.x;
  const dy = hips.y - shoulders.y;
  const torso = Math.hypot(dx, dy);
  if (!(torso > 1e-6)) return 'unknown';
  const fromVertical = (Math.atan2(Math.abs(dx), dy) * 180) / Math.PI; // 0 upright, 90 level, 180 inverted
  const R = POSTURE_RULES;
  if (fromVertical >= R.invertedTorsoDeg) return 'unknown';
  if (fromVertical >= R.lyingTorsoDeg) return 'lying';
  if (fromVertical > R.uprightTorsoDeg) return 'unknown';

  const knees = mid('left_knee', 'right_knee');
  const ankles = mid('left_ankle', 'right_ankle');
  const below = (p: Point | null, from: Point) => (p ? (p.y - from.y) / torso : null);
  const thigh = below(knees, hips);
  const leg = below(ankles, hips);
  const shin = knees ? below(ankles, knees) : null;
  if (thigh !== null) {
    if (thigh < R.sittingThigh) return 'sitting';
    // Thighs hanging: standing, unless the shins fold back (kneeling).
    if (thigh >= R.standingThigh) return shin === null || shin >= R.standingShin ? 'standing' : 'unknown';
  }
  if (leg !== null) {
    if (leg >= R.standingLeg) return 'standing';
    if (leg < R.sittingLeg) return 'sitting';
  }
  return 'unknown';
}

/** classifyPosture for normalised keypoints of a width × height image. */
export function postureOf(kps: readonly Keypoint[], width: number, height: number, minScore = 0.3): Posture {
  return classifyPosture(
    kps.map((k) => ({ part: k.part, x: k.x * width, y: k.y * height, score: k.score })),
    minScore,
  );
}
