/**
 * The offline vision answerer: has the models look at each image (off the event loop,
 * through the pool) for what the router's plan needs, measures colours and differences on
 * the pixels, and has engine/compose/ write the answer in the plan's language and the
 * requested format. It answers only from what was detected, read or measured, and never
 * plans the prompt itself: the plan arrives in the provider context.
 */
import type { DecodedImage } from '../../media/decode.js';
import type { Analysis, AnalysisNeeds, RawImage, SafetyRating } from '../../vision/analysis.js';
import { analysisLookup, type AnalysisCache } from '../../vision/analysis-cache.js';
import { mergeRatings as mergeSafety } from '../../vision/safety/ratings.js';
import { composeAnswer } from '../compose/answer.js';
import type { ImageFacts, RequestFacts } from '../compose/facts.js';
import { renderAnswer } from '../compose/render.js';
import { imagesOf } from '../../seam/request.js';
import type { ProviderContext } from '../../seam/provider.js';
import type { Plan } from '../planner.js';
import { POSSIBLE_FRACTION, SURE_SHARE } from '../compose/confidence.js';
import { compareConsecutive, measureBoxColours, measurePixels } from '../measure.js';
import type { RgbImage } from '../../vision/thumbnail.js';
import type { InstalledModels, OfflineAnswerer } from './provider.js';
import { shrink } from './shrink.js';

/** Runs the installed models on one image (the vision worker pool, or in-thread in benches). */
export type RunModels = (image: RawImage, needs: AnalysisNeeds, signal?: AbortSignal) => Promise<Analysis>;

export interface OfflineVisionDeps {
  runModels: RunModels;
  installed: InstalledModels;
  /** Longest side of the copy the models see (the detector and SAM work at ≤ 1024). */
  analysisSide?: number;
  /** Longer side for reading text, where detail matters. */
  ocrSide?: number;
  /** Analyses kept by image hash (a chat resends its image every turn); none: every request runs the models. */
  cache?: AnalysisCache;
}

/** Longest side of the copy the safety classifier gets: it sees 224×224, so a small copy is plenty and cheap to send. */
export const SAFETY_SIDE = 448;

/** Images with a shorter side than this hold nothing a detector can find. */
export const MIN_MODEL_SIDE = 16;
/** Most images of one request the models look at; the rest are measured only, and the answer says so. */
export const MAX_MODEL_IMAGES = 32;

/**
 * What the models are asked for one image: one analysis serves the whole answer, and every
 * task asks the detector the same way (down to the "possible" band of ../compose/confidence.ts),
 * so counts, captions, boxes and yes/no answers read the same detections.
 */
export function needsOf(plan: Plan, caps: InstalledModels, prompt: string): AnalysisNeeds {
  const needs: AnalysisNeeds = {};
  const task = plan.task;
  const kind = task.kind;
  if (kind !== 'readText' && caps.detect) needs.detect = { belowThreshold: POSSIBLE_FRACTION };
  if (kind === 'segment' && caps.segment) needs.segment = {};
  if (kind === 'people' && caps.people) needs.people = true;
  const wantsText =
    kind === 'readText' || kind === 'compare' || (kind === 'caption' && task.detail === 'detailed') || (kind === 'yesno' && task.attribute.kind === 'text');
  if (wantsText && caps.ocr) needs.ocr = { prompt };
  // A short caption reads only pages of text (measured in the worker), so photos stay fast.
  else if (kind === 'caption' && caps.ocr) needs.ocr = { prompt, onlyIfPage: { sureShare: SURE_SHARE } };
  return needs;
}

export class OfflineVision implements OfflineAnswerer {
  readonly name = 'offline-vision';
  constructor(private readonly deps: OfflineVisionDeps) {}

  async rateSafety(images: DecodedImage[], signal: AbortSignal): Promise<SafetyRating[]> {
    if (!this.deps.installed.safety) return [];
    const rated = await mapLimit(images.slice(0, MAX_MODEL_IMAGES), 4, async (img) => (await this.analyse(img, SAFETY_SIDE, { safety: true }, signal)).safety ?? []);
    return mergeSafety(rated);
  }

  /** The answer to the plan the router made (`ctx.plan`), from what the models and measurements say. */
  async *generate(ctx: ProviderContext): AsyncIterable<string> {
    const colours = !boxesOnly(ctx.plan) || ctx.output.jsonSchema !== undefined || ctx.output.mimeType === 'text/x.enum';
    const facts = await this.look(imagesOf(ctx).map((p) => p.image), ctx.plan, ctx.prompt, ctx.signal, { colours });
    yield* renderAnswer(composeAnswer(ctx.plan, facts), facts, ctx.output, ctx.plan.lang, ctx.plan.json);
  }

  /**
   * Everything the models and measurements say about the request's images. `colours: false`
   * leaves out the colour and brightness measurement (their facts are then empty and NaN),
   * for answers that cannot say them.
   */
  async look(images: DecodedImage[], plan: Plan, prompt: string, signal?: AbortSignal, opts: { colours?: boolean } = {}): Promise<RequestFacts> {
    const measureColours = opts.colours ?? true;
    const needs = needsOf(plan, this.deps.installed, prompt);
    const side = needs.ocr && !needs.ocr.onlyIfPage ? (this.deps.ocrSide ?? 1600) : (this.deps.analysisSide ?? 1024);
    const task = plan.task;
    const wantObjectColours = task.kind === 'colour' || (task.kind === 'yesno' && task.attribute.kind === 'colour');
    const thumbs: RgbImage[] = new Array(images.length);
    // Thumbnails of thousands of images at once would hold them all in flight; a few at a time.
    const facts = await mapLimit(
      images,
      8,
      async (image, i): Promise<ImageFacts> => {
        const tiny = Math.min(image.width, image.height) < MIN_MODEL_SIDE;
        const looked = !tiny && i < MAX_MODEL_IMAGES;
        const [analysis, pixels] = await Promise.all([
          looked && Object.keys(needs).length ? this.analyse(image, side, needs, signal) : Promise.resolve<Analysis>({ times: {} }),
          measureColours || plan.task.kind === 'compare' ? measurePixels(image) : Promise.resolve(UNMEASURED),
        ]);
        if (plan.task.kind === 'compare') thumbs[i] = pixels.thumb; // reused by the pairwise comparison below
        const objects = analysis.objects ?? [];
        return {
          index: i + 1,
          width: image.width,
          height: image.height,
          format: image.format,
          objects,
          ...(analysis.detectThreshold !== undefined ? { detectThreshold: analysis.detectThreshold } : {}),
          ...(analysis.textPage ? { textPage: true } : {}),
          ...(analysis.masks ? { masks: analysis.masks } : {}),
          ...(analysis.text ? { text: analysis.text } : {}),
          ...(analysis.people ? { people: analysis.people } : {}),
          colours: pixels.colours,
          brightness: pixels.brightness,
          hash: image.hash,
          ...(image.camera ? { camera: image.camera } : {}),
          ...(looked ? {} : { notLooked: tiny ? ('tiny' as const) : ('limit' as const) }),
          ...(wantObjectColours ? { objectColours: await Promise.all(objects.map((o) => measureBoxColours(image, o.box))) } : {}),
        };
      },
    );
    const differences = plan.task.kind === 'compare' ? compareConsecutive(images, thumbs) : [];
    return { images: facts, differences };
  }

  /** The models' analysis of a copy of `image` at most `side` px long: kept from before, or run now. */
  private analyse(image: DecodedImage, side: number, needs: AnalysisNeeds, signal?: AbortSignal): Promise<Analysis> {
    const run = async () => this.deps.runModels(await shrink(image, side), needs, signal);
    return this.deps.cache ? this.deps.cache.get(analysisLookup(image.hash, side, needs, [SURE_SHARE]), run) : run();
  }
}

/**
 * Box and mask lists: their answer is the boxes (and masks) alone, so nothing reads the
 * image's colours or brightness unless a responseSchema asks for them (shape.ts fills schema
 * keys such as "colour" from the facts). Measuring colours costs the event loop a k-means
 * per image (5–15 ms for a photo, measured 2026-12-04) while the models run.
 */
function boxesOnly(plan: Plan): boolean {
  return plan.task.kind === 'detect' || plan.task.kind === 'segment';
}

/** Pixel measures of an image nothing will describe by colour: none. */
const UNMEASURED = { thumb: { width: 0, height: 0, rgb: new Uint8Array(0) }, colours: [], brightness: Number.NaN };

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}
