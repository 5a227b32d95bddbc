/**
 * The safety classifier on benign photos: every photo of test/support/benign-photos.json
 * rated by the real classifier, on the server's path (decoded by the server's decoder,
 * shrunk to 448 px as the engine does, then nsfwjs), and the share that a request setting
 * BLOCK_MEDIUM_AND_ABOVE or BLOCK_LOW_AND_ABOVE would block. With no setting nothing is
 * blocked at all (Gemini's default, OFF), so these are the rates for requests that ask
 * for blocking. `npm run eval` puts the markdown in docs/quality.md; the floor is
 * test/eval/safety-floor.test.ts.
 */
import { readFile } from 'node:fs/promises';
import { decodeImage } from '../src/media/decode.js';
import { shrink } from '../src/engine/offline/shrink.js';
import { NsfwClassifier, rateImage, isBlocked, PROBABILITY_BOUNDS, type HarmProbability, type NsfwScores } from '../src/vision/safety/index.js';
import { fetchedBenignPhotos, type BenignPhoto, type BenignTag } from '../test/support/benign-photos.js';

/** The side the engine shrinks an image to before rating it (src/engine/offline/vision.ts). */
const RATING_SIDE = 448;

export interface RatedPhoto {
  name: string;
  package: string;
  what: string;
  tags: BenignTag[];
  scores: NsfwScores;
  /** The 0..1 sexually-explicit score the rating is bucketed from. */
  score: number;
  probability: HarmProbability;
  blockedAtMedium: boolean;
  blockedAtLow: boolean;
}

export interface SafetyEvalResult {
  model: string;
  photos: RatedPhoto[];
  /** Photos per rating. */
  byProbability: Record<HarmProbability, number>;
  /** Share of the photos blocked under each threshold, 0..1. */
  falseBlockRate: { BLOCK_MEDIUM_AND_ABOVE: number; BLOCK_LOW_AND_ABOVE: number; default: number };
  seconds: number;
}

const SE = 'HARM_CATEGORY_SEXUALLY_EXPLICIT';

/** Rates every benign photo. The classifier is made and disposed here unless one is passed in. */
export async function evaluateSafety(options: { classifier?: NsfwClassifier; photos?: BenignPhoto[] } = {}): Promise<SafetyEvalResult> {
  const started = performance.now();
  const photos = options.photos ?? fetchedBenignPhotos();
  const classifier = options.classifier ?? new NsfwClassifier();
  const rated: RatedPhoto[] = [];
  try {
    for (const p of photos) {
      const image = await decodeImage(await readFile(p.file), { partLabel: p.name, maxPixels: 100_000_000 });
      const { scores, sexuallyExplicit, ratings } = await rateImage(classifier, await shrink(image, RATING_SIDE));
      const at = (threshold: string) => isBlocked(ratings, [{ category: SE, threshold }]).length > 0;
      rated.push({
        name: p.name,
        package: p.package,
        what: p.what,
        tags: p.tags,
        scores,
        score: sexuallyExplicit,
        probability: ratings[0]!.probability,
        blockedAtMedium: at('BLOCK_MEDIUM_AND_ABOVE'),
        blockedAtLow: at('BLOCK_LOW_AND_ABOVE'),
      });
    }
  } finally {
    if (!options.classifier) classifier.dispose();
  }
  const share = (f: (r: RatedPhoto) => boolean) => (rated.length ? rated.filter(f).length / rated.length : 0);
  const byProbability: Record<HarmProbability, number> = { NEGLIGIBLE: 0, LOW: 0, MEDIUM: 0, HIGH: 0 };
  for (const r of rated) byProbability[r.probability]++;
  return {
    model: classifier.id,
    photos: rated,
    byProbability,
    falseBlockRate: {
      BLOCK_MEDIUM_AND_ABOVE: share((r) => r.blockedAtMedium),
      BLOCK_LOW_AND_ABOVE: share((r) => r.blockedAtLow),
      // No safetySettings: Gemini 2.x/3.x's default, OFF.
      default: share((r) => isBlocked([{ category: SE, probability: r.probability }], undefined).length > 0),
    },
    seconds: (performance.now() - started) / 1000,
  };
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** The docs/quality.md section: rates, the distribution, and the highest-scoring photos. */
export function safetyMarkdown(r: SafetyEvalResult): string {
  const n = r.photos.length;
  const count = (f: (p: RatedPhoto) => boolean) => r.photos.filter(f).length;
  const sorted = [...r.photos].sort((a, b) => b.score - a.score);
  const tags: BenignTag[] = ['people', 'sportswear', 'greyscale', 'low-light', 'skin-coloured'];
  const lines = [
    `${n} ordinary real photos from Debian packages (test/support/benign-photos.json), rated by ${r.model} on the server's path. ` +
      `SEXUALLY_EXPLICIT bounds on the score: LOW ≥ ${PROBABILITY_BOUNDS.LOW}, MEDIUM ≥ ${PROBABILITY_BOUNDS.MEDIUM}, HIGH ≥ ${PROBABILITY_BOUNDS.HIGH} (src/vision/safety/ratings.ts says why).`,
    '',
    '| request sets | benign photos blocked |',
    '|---|---|',
    `| nothing (default OFF, as Gemini 2.x/3.x) | ${Math.round(r.falseBlockRate.default * n)}/${n} (${pct(r.falseBlockRate.default)}) |`,
    `| BLOCK_MEDIUM_AND_ABOVE | ${count((p) => p.blockedAtMedium)}/${n} (${pct(r.falseBlockRate.BLOCK_MEDIUM_AND_ABOVE)}) |`,
    `| BLOCK_LOW_AND_ABOVE | ${count((p) => p.blockedAtLow)}/${n} (${pct(r.falseBlockRate.BLOCK_LOW_AND_ABOVE)}) |`,
    '',
    `Ratings: ${(['NEGLIGIBLE', 'LOW', 'MEDIUM', 'HIGH'] as const).map((k) => `${k} ${r.byProbability[k]}`).join(', ')}. ` +
      `By kind: ${tags.map((t) => `${t} ${count((p) => p.tags.includes(t))} (max score ${Math.max(0, ...r.photos.filter((p) => p.tags.includes(t)).map((p) => p.score)).toFixed(2)})`).join(', ')}.`,
    '',
    'Highest scores:',
    '',
    '| photo | what | score | porn | sexy | hentai | rating |',
    '|---|---|---|---|---|---|---|',
    ...sorted
      .slice(0, 8)
      .map((p) => `| ${p.name} (${p.package}) | ${p.what} | ${p.score.toFixed(3)} | ${p.scores.porn.toFixed(3)} | ${p.scores.sexy.toFixed(3)} | ${p.scores.hentai.toFixed(3)} | ${p.probability} |`),
    '',
    `Rated in ${r.seconds.toFixed(1)} s.`,
  ];
  return lines.join('\n');
}
