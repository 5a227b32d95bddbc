/**
 * Image safety: the NSFW classifier (./nsfw.ts) and its mapping to Gemini's
 * safetyRatings / safetySettings (./ratings.ts). Only HARM_CATEGORY_SEXUALLY_EXPLICIT is
 * assessed; see ratings.ts for what is not.
 */
import type { NsfwClassifier } from './nsfw.js';
import type { RgbImage } from './preprocess.js';
import { safetyRatingsFrom, sexuallyExplicitScore, type NsfwScores, type SafetyRating } from './ratings.js';

export * from './classes.js';
export { NsfwClassifier, NsfwModelNotInstalledError, NSFW_INPUT_SIZE, NSFW_PACKAGE, type NsfwOptions } from './nsfw.js';
export * from './ratings.js';
export type { RgbImage };

export interface ImageSafety {
  /** The classifier's five probabilities. */
  scores: NsfwScores;
  /** 0..1 sexually-explicit score the rating is bucketed from. */
  sexuallyExplicit: number;
  /** This image's safetyRatings (SEXUALLY_EXPLICIT only), without `blocked` flags. */
  ratings: SafetyRating[];
}

/** Classifies one image and rates it. */
export async function rateImage(classifier: Pick<NsfwClassifier, 'classify'>, img: RgbImage): Promise<ImageSafety> {
  const scores = await classifier.classify(img);
  return { scores, sexuallyExplicit: sexuallyExplicitScore(scores), ratings: safetyRatingsFrom(scores) };
}
