/** The NSFW classifier's output classes, shared by the model (./nsfw.ts) and the pure mapping (./ratings.ts). */

/** In model output order (nsfwjs's NSFW_CLASSES: Drawing, Hentai, Neutral, Porn, Sexy), lower-cased. */
export const NSFW_CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;
export type NsfwClass = (typeof NSFW_CLASSES)[number];
/** Softmax probabilities of one image, summing to 1. */
export type NsfwScores = Record<NsfwClass, number>;
