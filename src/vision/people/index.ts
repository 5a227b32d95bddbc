/**
 * People: faces (box, score, expression) and body poses (17 keypoints, box, posture), for
 * questions about the people in an image. See ./analyser.ts for the models and pipeline.
 */
import { TfjsPeopleAnalyser, type PeopleAnalyserOptions } from './analyser.js';
import type { PeopleAnalyser } from './types.js';

export type { AnalyseOptions, Expression, Face, Keypoint, KeypointName, NormBox, PeopleAnalyser, PeopleAnalysis, Pose, Posture, RgbImage } from './types.js';
export { EXPRESSIONS, KEYPOINT_NAMES } from './types.js';
export { classifyPosture, postureOf, POSTURE_RULES } from './pose.js';
export { PEOPLE_MODELS, TfjsPeopleAnalyser, type PeopleAnalyserOptions } from './analyser.js';

/** The people analyser (weights from @vladmandic/human@3.3.6, a dependency). Call load() before use, or let the first analyse() do it. */
export function createPeopleAnalyser(opts: PeopleAnalyserOptions = {}): PeopleAnalyser & TfjsPeopleAnalyser {
  return new TfjsPeopleAnalyser(opts);
}
