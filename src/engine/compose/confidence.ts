/**
 * The one confidence policy for every answer about detected objects: captions, counts,
 * detection and segmentation lists, yes/no and "where" answers all split the same
 * detections of one analysis with these bands, so a count always equals the number of
 * boxes the detection list gives, and a caption never names what a yes/no answer denies.
 *
 * Bands are relative to the detector's own threshold (`t`, its default score cut, chosen
 * per model on labelled photos in docs/detectors.md), because each model scores on its own
 * scale (CenterNet's right answers score 0.4–0.6, SSD-MobileNet's 0.8–1.0):
 *  - sure     score ≥ t + 0.6·(1 − t)  asserted plainly ("Yes — a cat"). For SSD-MobileNet
 *                                        (t 0.5) that is 0.8, where its labels were right 15
 *                                        times in 16 (CONFIDENT_SCORE, src/vision/detect).
 *  - likely   t ≤ score < sure          asserted, counted and boxed; a yes/no answer resting
 *                                        on it says "probably", and a denial resting on a
 *                                        likely neighbour ("it looks more like a dog") is hedged.
 *  - possible 0.6·t ≤ score < t         never counted or boxed, never denied either: said
 *                                        as "possibly". On the labelled photos precision just
 *                                        under the threshold is still about 2 in 3 (SSD 0.81
 *                                        at 0.3, CenterNet 0.67–0.77 at 0.25–0.35), too often
 *                                        right to answer "No", too often wrong to say "Yes".
 *  - below 0.6·t: not mentioned; precision falls to about 1 in 3 (0.36–0.54 at 0.15).
 * A label short of "sure" is also uncertain when the detector scored another class for
 * the same box close behind it (`alternatives`, from detectors that score every class per
 * box): then the answer names both ("a cow (or possibly a horse)").
 */
import type { DetectedObject } from '../../vision/analysis.js';

export type Band = 'sure' | 'likely' | 'possible';

/** Detections from this fraction of the threshold up to it are "possible". */
export const POSSIBLE_FRACTION = 0.6;
/** How far from the threshold towards 1 a score must be to be "sure". */
export const SURE_SHARE = 0.6;
/**
 * A runner-up class scoring at least this share of the label's score makes the label
 * uncertain: the detectors' measurement (src/vision/detect CLOSE_ALTERNATIVE: the horse
 * called sheep 0.93 had horse 0.36), kept here so answers need not load the detectors.
 */
export const CLOSE_ALTERNATIVE = 0.35;
/**
 * Even a "sure" label is not asserted alone when another class for the same box scored
 * this close to it: the 2048-px noisy copy of dog.jpg, read at 1600 px, scored cat 0.84 and
 * dog 0.82, a coin toss that the sure band would state as "a cat". Sure labels with a
 * runner-up further behind stand (dog.jpg itself: dog 0.87, cat 0.64).
 */
export const NEAR_TIE = 0.9;
/** When the detector did not say its threshold (tests, other engines): SSD-MobileNet's. */
export const DEFAULT_THRESHOLD = 0.5;

export function bandOf(score: number, threshold = DEFAULT_THRESHOLD): Band | undefined {
  if (score >= threshold + SURE_SHARE * (1 - threshold)) return 'sure';
  if (score >= threshold) return 'likely';
  if (score >= threshold * POSSIBLE_FRACTION) return 'possible';
  return undefined;
}

/** The objects answers assert (sure and likely), and the ones they may only call possible. */
export function splitByConfidence(objects: readonly DetectedObject[], threshold = DEFAULT_THRESHOLD): { asserted: DetectedObject[]; possible: DetectedObject[] } {
  const asserted: DetectedObject[] = [];
  const possible: DetectedObject[] = [];
  for (const o of objects) {
    const band = bandOf(o.score, threshold);
    if (band === 'sure' || band === 'likely') asserted.push(o);
    else if (band === 'possible') possible.push(o);
  }
  return { asserted, possible };
}

/**
 * The runner-up class close behind an object's label, if any: a sure label stands unless
 * its runner-up nearly ties it (NEAR_TIE; on the labelled photos SSD-MobileNet's dog at
 * 0.87 also scored cat 0.64 and was a dog), while a likely one with a close second
 * (CLOSE_ALTERNATIVE) is said as either.
 */
export function closeAlternative(o: DetectedObject, threshold = DEFAULT_THRESHOLD): { label: string; score: number } | undefined {
  const alt = o.alternatives?.[0];
  if (!alt || alt.label === o.label) return undefined;
  const share = bandOf(o.score, threshold) === 'sure' ? NEAR_TIE : CLOSE_ALTERNATIVE;
  return alt.score >= share * o.score ? alt : undefined;
}
