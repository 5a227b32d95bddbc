/**
 * The people-analysis contract of the offline engine: faces (with a facial expression) and
 * body poses (17 COCO keypoints, with a posture), every coordinate normalised to the
 * upright image.
 */
import type { Box, RgbImage } from '../detect/types.js';

export type { RgbImage };

/** Normalised [x0, y0, x1, y1], 0..1 of the upright image (x0 ≤ x1, y0 ≤ y1). */
export type NormBox = Box;

/** The seven expressions of the FER-2013 emotion model, in no particular order. */
export const EXPRESSIONS = ['happy', 'sad', 'angry', 'surprise', 'fear', 'disgust', 'neutral'] as const;
export type Expression = (typeof EXPRESSIONS)[number];

export interface Face {
  /** Normalised [x0, y0, x1, y1] of the face (brows to chin, as BlazeFace draws it). */
  box: NormBox;
  /** Face-detector confidence, 0..1. */
  score: number;
  /** The most likely expression and its probability (absent when expressions are off). */
  expression?: { label: Expression; score: number };
}

/** The 17 COCO keypoints MoveNet predicts, in its output order. Left/right are the person's own. */
export const KEYPOINT_NAMES = [
  'nose',
  'left_eye',
  'right_eye',
  'left_ear',
  'right_ear',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
  'left_hip',
  'right_hip',
  'left_knee',
  'right_knee',
  'left_ankle',
  'right_ankle',
] as const;
export type KeypointName = (typeof KEYPOINT_NAMES)[number];

export interface Keypoint {
  part: KeypointName;
  /** Normalised 0..1 of the image width / height. */
  x: number;
  y: number;
  /** 0..1 */
  score: number;
}

export type Posture = 'standing' | 'sitting' | 'lying' | 'unknown';

export interface Pose {
  /** Normalised box around the person, from the keypoints (padded for the head top and feet). */
  box: NormBox;
  /** Mean confidence of the 17 keypoints, 0..1. */
  score: number;
  /** The keypoints seen with confidence (≥ the analyser's minKeypointScore), in KEYPOINT_NAMES order. */
  keypoints: Keypoint[];
  posture?: Posture;
}

export interface PeopleAnalysis {
  faces: Face[];
  poses: Pose[];
}

export interface AnalyseOptions {
  /**
   * Person boxes from an object detector (normalised). When given, a pose is looked for
   * in each (largest first, up to maxPoses) instead of searching the whole image: better
   * for several or small people.
   */
  personBoxes?: NormBox[];
}

export interface PeopleAnalyser {
  /** Loads the weights (idempotent; concurrent calls share one load). */
  load(): Promise<void>;
  /** Faces sorted by score and poses by score, best first. Loads the models on first use. */
  analyse(img: RgbImage, opts?: AnalyseOptions): Promise<PeopleAnalysis>;
  /** Frees the models' memory; a later analyse() loads them again. */
  dispose(): void;
}
