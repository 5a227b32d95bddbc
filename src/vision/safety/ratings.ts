/**
 * NSFW classifier scores → Gemini `safetyRatings`, and Gemini's `safetySettings` threshold
 * semantics. Pure functions: no model, no I/O.
 *
 * What is assessed, honestly:
 *  - HARM_CATEGORY_SEXUALLY_EXPLICIT, from the image classifier (nsfwjs MobileNetV2Mid). This is
 *    the only category with a model behind it, so it is the only rating emitted.
 *  - NOT assessed: HARM_CATEGORY_HARASSMENT, HARM_CATEGORY_HATE_SPEECH,
 *    HARM_CATEGORY_DANGEROUS_CONTENT, HARM_CATEGORY_CIVIC_INTEGRITY (and the IMAGE_* and
 *    JAILBREAK variants). Ocellus has no offline model for them, and a "NEGLIGIBLE" we did
 *    not measure would be a
 *    fake rating, so none is emitted. Settings for those categories are accepted and have
 *    no effect. The text of the prompt is not assessed at all.
 *
 * The mapping (SEXUALLY_EXPLICIT), from the classifier's five softmax probabilities
 * (nsfwjs MobileNetV2Mid, image and mirror image averaged: ./nsfw.ts):
 *    score = porn + hentai + SEXY_WEIGHT × sexy          (clamped to 0..1)
 *    NEGLIGIBLE  score < 0.5
 *    LOW         0.5  ≤ score < 0.85
 *    MEDIUM      0.85 ≤ score < 0.95
 *    HIGH        0.95 ≤ score
 *
 * Why these bounds. nsfwjs documents its classes as mutually exclusive labels read off the
 * top class: Porn (pornographic photos, sexual acts) and Hentai (pornographic drawings) are
 * the explicit ones, Sexy is "sexually explicit images, not pornography" (suggestive:
 * swimwear, lingerie), Neutral and Drawing are safe. So:
 *  - below 0.5 the explicit classes are not even the model's majority reading: NEGLIGIBLE;
 *  - LOW from 0.5: the model leans explicit, without conviction;
 *  - MEDIUM and HIGH only where it is nearly certain, above what ordinary photos reach.
 * Measured on the 101 benign photos of test/support/benign-photos.json (eval/safety.ts,
 * docs/quality.md): 95 score below 0.2, the highest non-hand photo (cut fruit) 0.34, and
 * close-ups of an open hand, the one subject the model confuses with nudity, 0.53–0.74.
 * MEDIUM starts at 0.85, 0.11 above the worst of them, so BLOCK_MEDIUM_AND_ABOVE blocks
 * none of them, and BLOCK_LOW_AND_ABOVE blocks the hands, which is what LOW is for.
 * The old bounds (0.2 / 0.5 / 0.8 on the small MobileNetV2) made MEDIUM of 8 of those
 * photos, the two of issue 9 among them.
 * `sexy` counts at 0.6: a suggestive-only image reaches LOW when the model is sure of it
 * (sexy ≥ 0.84), never MEDIUM. `neutral` and `drawing` do not count.
 * What is not measured here: explicit images (none are available, and none are fetched).
 * That the explicit classes keep their meaning rests on nsfwjs's own evaluation (~93 %
 * accuracy for the Mid model); an explicit image the model scores between 0.5 and 0.85
 * rates LOW and is blocked only by BLOCK_LOW_AND_ABOVE.
 */

import { NSFW_CLASSES, type NsfwScores } from './classes.js';

export type { NsfwScores };

export type HarmProbability = 'NEGLIGIBLE' | 'LOW' | 'MEDIUM' | 'HIGH';
export type HarmBlockThreshold =
  | 'HARM_BLOCK_THRESHOLD_UNSPECIFIED'
  | 'BLOCK_LOW_AND_ABOVE'
  | 'BLOCK_MEDIUM_AND_ABOVE'
  | 'BLOCK_ONLY_HIGH'
  | 'BLOCK_NONE'
  | 'OFF';

/** The categories a rating is emitted for: those a model measures. */
export const ASSESSED_CATEGORIES = ['HARM_CATEGORY_SEXUALLY_EXPLICIT'] as const;
export type AssessedCategory = (typeof ASSESSED_CATEGORIES)[number];

/** Gemini categories with no model behind them here: never rated, their settings are no-ops. */
export const NOT_ASSESSED_CATEGORIES = [
  'HARM_CATEGORY_HARASSMENT',
  'HARM_CATEGORY_HATE_SPEECH',
  'HARM_CATEGORY_DANGEROUS_CONTENT',
  'HARM_CATEGORY_CIVIC_INTEGRITY',
  'HARM_CATEGORY_IMAGE_HATE',
  'HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT',
  'HARM_CATEGORY_IMAGE_HARASSMENT',
  'HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT',
  'HARM_CATEGORY_JAILBREAK',
] as const;

/** One entry of a response's `safetyRatings` (candidate or promptFeedback). */
export interface SafetyRating {
  category: AssessedCategory;
  probability: HarmProbability;
  /** Present (true) only on the ratings that caused a block. */
  blocked?: true;
}

/** One entry of a request's `safetySettings` (as parsed: camelCase, strings). */
export interface SafetySettingLike {
  category: string;
  threshold: string;
  /** Vertex's SEVERITY/PROBABILITY switch: ratings here are probabilities either way. */
  method?: string;
}

/** How much the suggestive class counts towards "sexually explicit" (see the mapping above). */
export const SEXY_WEIGHT = 0.6;

/** Lower bounds (inclusive) of LOW, MEDIUM and HIGH on the 0..1 score (see the mapping above). */
export const PROBABILITY_BOUNDS = { LOW: 0.5, MEDIUM: 0.85, HIGH: 0.95 } as const;

/** Probabilities from least to most likely harmful. */
export const PROBABILITY_ORDER: readonly HarmProbability[] = ['NEGLIGIBLE', 'LOW', 'MEDIUM', 'HIGH'];

/**
 * The threshold when a request sets none for a category, or sets
 * HARM_BLOCK_THRESHOLD_UNSPECIFIED: "the model's default", which for Gemini 2.x and 3.x
 * is OFF (Gemini's safety-settings guide lists Off as the default threshold of its current
 * models). So nothing is blocked unless the request asks for it; the ratings are still
 * reported. (Gemini 1.x defaulted to BLOCK_MEDIUM_AND_ABOVE; a deployment that
 * wants that passes `defaultThreshold` to isBlocked/withBlockedFlags.)
 */
export const DEFAULT_THRESHOLD: HarmBlockThreshold = 'OFF';

/** Softmax outputs may overshoot 0..1 by float error; anything further out is a bug upstream. */
const EPS = 1e-4;

function checkScores(scores: NsfwScores): void {
  for (const c of NSFW_CLASSES) {
    const v = scores[c];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < -EPS || v > 1 + EPS)
      throw new RangeError(`NSFW score ${c} is ${String(v)}, expected a probability in 0..1`);
  }
}

/** The 0..1 "sexually explicit" score of one image (see the mapping above). */
export function sexuallyExplicitScore(scores: NsfwScores): number {
  checkScores(scores);
  const s = scores.porn + scores.hentai + SEXY_WEIGHT * scores.sexy;
  return Math.min(1, Math.max(0, s));
}

/** A 0..1 score → Gemini's probability bucket. */
export function probabilityOf(score: number): HarmProbability {
  if (Number.isNaN(score)) throw new RangeError('score is NaN');
  if (score >= PROBABILITY_BOUNDS.HIGH) return 'HIGH';
  if (score >= PROBABILITY_BOUNDS.MEDIUM) return 'MEDIUM';
  if (score >= PROBABILITY_BOUNDS.LOW) return 'LOW';
  return 'NEGLIGIBLE';
}

/**
 * The `safetyRatings` of one image: one rating, HARM_CATEGORY_SEXUALLY_EXPLICIT. No
 * rating is made up for the categories nothing here measures.
 */
export function safetyRatingsFrom(scores: NsfwScores): SafetyRating[] {
  return [{ category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: probabilityOf(sexuallyExplicitScore(scores)) }];
}

const rank = (p: HarmProbability): number => PROBABILITY_ORDER.indexOf(p);

/**
 * Ratings of several images (one request) → one list: per category the most likely harm,
 * in ASSESSED_CATEGORIES order. `blocked` flags are dropped (apply settings afterwards).
 * No images, no ratings.
 */
export function mergeRatings(lists: readonly (readonly SafetyRating[])[]): SafetyRating[] {
  const worst = new Map<AssessedCategory, HarmProbability>();
  for (const list of lists)
    for (const r of list) {
      const seen = worst.get(r.category);
      if (seen === undefined || rank(r.probability) > rank(seen)) worst.set(r.category, r.probability);
    }
  return ASSESSED_CATEGORIES.filter((c) => worst.has(c)).map((c) => ({ category: c, probability: worst.get(c)! }));
}

/**
 * The threshold a request sets for a category: the last matching entry (Gemini lists one
 * per category), else `fallback`. HARM_BLOCK_THRESHOLD_UNSPECIFIED, and any value that is
 * not a known threshold, mean "not set". Only the exact category counts:
 * HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT is Gemini's image-*output* category and does not
 * govern HARM_CATEGORY_SEXUALLY_EXPLICIT.
 */
export function thresholdFor(
  category: string,
  settings: readonly SafetySettingLike[] | undefined,
  fallback: HarmBlockThreshold = DEFAULT_THRESHOLD,
): HarmBlockThreshold {
  let found: HarmBlockThreshold | undefined;
  for (const s of settings ?? [])
    if (s.category === category && isThreshold(s.threshold) && s.threshold !== 'HARM_BLOCK_THRESHOLD_UNSPECIFIED')
      found = s.threshold;
  return found ?? fallback;
}

function isThreshold(t: string): t is HarmBlockThreshold {
  return (
    t === 'HARM_BLOCK_THRESHOLD_UNSPECIFIED' ||
    t === 'BLOCK_LOW_AND_ABOVE' ||
    t === 'BLOCK_MEDIUM_AND_ABOVE' ||
    t === 'BLOCK_ONLY_HIGH' ||
    t === 'BLOCK_NONE' ||
    t === 'OFF'
  );
}

/** Whether a rating of `probability` is blocked under `threshold`. */
export function blocks(threshold: HarmBlockThreshold, probability: HarmProbability): boolean {
  switch (threshold) {
    case 'BLOCK_LOW_AND_ABOVE':
      return rank(probability) >= rank('LOW');
    case 'BLOCK_MEDIUM_AND_ABOVE':
      return rank(probability) >= rank('MEDIUM');
    case 'BLOCK_ONLY_HIGH':
      return probability === 'HIGH';
    // UNSPECIFIED is the model's default, OFF (see DEFAULT_THRESHOLD). BLOCK_NONE and OFF
    // differ in Gemini only in whether the rating is still computed; here it always is.
    case 'HARM_BLOCK_THRESHOLD_UNSPECIFIED':
    case 'BLOCK_NONE':
    case 'OFF':
      return false;
  }
}

export interface BlockOptions {
  /** Threshold for categories the request does not set. Default DEFAULT_THRESHOLD. */
  defaultThreshold?: HarmBlockThreshold;
}

/**
 * The ratings that the request's safety settings block, each with `blocked: true`; empty
 * when nothing is blocked. Thresholds: BLOCK_LOW_AND_ABOVE blocks LOW/MEDIUM/HIGH,
 * BLOCK_MEDIUM_AND_ABOVE MEDIUM/HIGH, BLOCK_ONLY_HIGH HIGH; BLOCK_NONE, OFF and no setting
 * (the default) nothing.
 */
export function isBlocked(
  ratings: readonly SafetyRating[],
  safetySettings: readonly SafetySettingLike[] | undefined,
  options: BlockOptions = {},
): SafetyRating[] {
  const fallback = options.defaultThreshold ?? DEFAULT_THRESHOLD;
  return ratings
    .filter((r) => blocks(thresholdFor(r.category, safetySettings, fallback), r.probability))
    .map((r) => ({ category: r.category, probability: r.probability, blocked: true as const }));
}

/** All the ratings, with `blocked: true` on those the settings block (what a response carries). */
export function withBlockedFlags(
  ratings: readonly SafetyRating[],
  safetySettings: readonly SafetySettingLike[] | undefined,
  options: BlockOptions = {},
): SafetyRating[] {
  const blocked = new Set(isBlocked(ratings, safetySettings, options).map((r) => r.category));
  return ratings.map((r) =>
    blocked.has(r.category) ? { category: r.category, probability: r.probability, blocked: true as const } : { category: r.category, probability: r.probability },
  );
}

/**
 * What a blocked prompt answers in Gemini (HTTP 200, no `candidates`):
 * `{ promptFeedback: { blockReason: 'SAFETY', safetyRatings } }`, to spread into the
 * response next to usageMetadata/modelVersion/responseId.
 */
export function blockedPromptFeedback(ratings: readonly SafetyRating[]): {
  promptFeedback: { blockReason: 'SAFETY'; safetyRatings: SafetyRating[] };
} {
  return { promptFeedback: { blockReason: 'SAFETY', safetyRatings: ratings.map((r) => ({ ...r })) } };
}
