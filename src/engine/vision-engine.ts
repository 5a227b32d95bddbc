/**
 * The offline vision engine: plans what the prompt asks, has the models look at each
 * image (off the event loop, through the pool), measures colours and differences on the
 * pixels, composes the answer in the prompt's language and renders it in the requested
 * format. It answers only from what was detected, read or measured.
 */
import sharp from 'sharp';
import type { DecodedImage } from '../media/decode.js';
import type { Analysis, AnalysisNeeds, RawImage, SafetyRating } from '../vision/analysis.js';
import { mergeRatings as mergeSafety } from '../vision/safety/ratings.js';
import { dominantColours, meanBrightness } from '../vision/colors.js';
import { compareImages } from '../vision/diff.js';
import { thumbnail } from '../vision/thumbnail.js';
import { composeAnswer } from './compose/answer.js';
import type { ImageFacts, PairFacts, RequestFacts } from './compose/facts.js';
import { renderAnswer } from './compose/render.js';
import { imagesOf, promptOf, type Engine, type EngineRequest } from '../seam/request.js';
import { planTasks, type Plan, type Vocabulary } from './planner.js';
import { POSSIBLE_FRACTION, SURE_SHARE } from './compose/confidence.js';

export type Analyse = (image: RawImage, needs: AnalysisNeeds, signal?: AbortSignal) => Promise<Analysis>;

export interface VisionEngineDeps {
  analyse: Analyse;
  vocabulary: Vocabulary;
  /** Which capabilities are installed; a task needing a missing one says so. */
  capabilities: { detect: boolean; segment: boolean; ocr: boolean; safety?: boolean; people?: boolean };
  /** Longest side of the copy the models see (the detector and SAM work at ≤ 1024). */
  analysisSide?: number;
  /** Longer side for reading text, where detail matters. */
  ocrSide?: number;
}

const GRID = 64;
/** Images with a shorter side than this hold nothing a detector can find. */
export const MIN_MODEL_SIDE = 16;
/** Most images of one request the models look at; the rest are measured only, and the answer says so. */
export const MAX_MODEL_IMAGES = 32;

/**
 * What the models are asked for one image: one analysis serves the whole answer, and every
 * task asks the detector the same way (down to the "possible" band of ./compose/confidence.ts),
 * so counts, captions, boxes and yes/no answers read the same detections.
 */
export function needsOf(plan: Plan, caps: VisionEngineDeps['capabilities'], prompt: string): AnalysisNeeds {
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

export class VisionEngine implements Engine {
  readonly name = 'offline-vision';
  constructor(private readonly deps: VisionEngineDeps) {}

  async rateSafety(images: DecodedImage[], signal: AbortSignal): Promise<SafetyRating[]> {
    if (!this.deps.capabilities.safety) return [];
    // The classifier sees 224×224: a small copy is plenty, and cheap to send to the worker.
    const rated = await mapLimit(images.slice(0, MAX_MODEL_IMAGES), 4, async (img) => (await this.deps.analyse(await shrink(img, 448), { safety: true }, signal)).safety ?? []);
    return mergeSafety(rated);
  }

  async *generate(request: EngineRequest): AsyncIterable<string> {
    const images = imagesOf(request);
    const plan = planTasks(promptOf(request), {
      imageCount: images.length,
      jsonRequested: request.output.mimeType === 'application/json',
      vocabulary: this.deps.vocabulary,
    });
    const facts = await this.look(images.map((p) => p.image), plan, promptOf(request), request.signal);
    const answer = composeAnswer(plan, facts);
    yield* renderAnswer(answer, facts, request.output, plan.lang, plan.json);
  }

  /** Everything the models and measurements say about the request's images. */
  async look(images: DecodedImage[], plan: Plan, prompt: string, signal?: AbortSignal): Promise<RequestFacts> {
    const needs = needsOf(plan, this.deps.capabilities, prompt);
    const side = needs.ocr && !needs.ocr.onlyIfPage ? (this.deps.ocrSide ?? 1600) : (this.deps.analysisSide ?? 1024);
    const task = plan.task;
    const wantObjectColours = task.kind === 'colour' || (task.kind === 'yesno' && task.attribute.kind === 'colour');
    const thumbs: RawImage[] = new Array(images.length);
    // Thumbnails of thousands of images at once would hold them all in flight; a few at a time.
    const facts = await mapLimit(
      images,
      8,
      async (image, i): Promise<ImageFacts> => {
        const tiny = Math.min(image.width, image.height) < MIN_MODEL_SIDE;
        const looked = !tiny && i < MAX_MODEL_IMAGES;
        const [analysis, thumb] = await Promise.all([
          looked && Object.keys(needs).length ? this.deps.analyse(await shrink(image, side), needs, signal) : Promise.resolve<Analysis>({ times: {} }),
          thumbnail(image, GRID, GRID),
        ]);
        if (plan.task.kind === 'compare') thumbs[i] = thumb; // reused by the pairwise comparison below
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
          colours: dominantColours(thumb),
          brightness: meanBrightness(thumb),
          hash: image.hash,
          ...(image.camera ? { camera: image.camera } : {}),
          ...(looked ? {} : { notLooked: tiny ? ('tiny' as const) : ('limit' as const) }),
          ...(wantObjectColours ? { objectColours: await Promise.all(objects.map((o) => boxColours(image, o.box))) } : {}),
        };
      },
    );
    const differences: PairFacts[] = [];
    if (plan.task.kind === 'compare') {
      for (let i = 0; i + 1 < images.length; i++) {
        differences.push({
          images: [i + 1, i + 2],
          identicalBytes: images[i]!.hash === images[i + 1]!.hash,
          ...compareImages(thumbs[i]!, thumbs[i + 1]!),
        });
      }
    }
    return { images: facts, differences };
  }
}

/** A copy no larger than `side` on its long side, for the models. */
export async function shrink(image: DecodedImage, side: number): Promise<RawImage> {
  if (Math.max(image.width, image.height) <= side) return { width: image.width, height: image.height, rgb: image.rgb };
  const { data, info } = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(side, side, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: data };
}

/** Colours inside a detected object's box (its centre half, to avoid the background). */
async function boxColours(image: DecodedImage, box: [number, number, number, number]) {
  const w = box[2] - box[0];
  const h = box[3] - box[1];
  const left = Math.floor((box[0] + w / 4) * image.width);
  const top = Math.floor((box[1] + h / 4) * image.height);
  const width = Math.max(1, Math.floor((w / 2) * image.width));
  const height = Math.max(1, Math.floor((h / 2) * image.height));
  const { data, info } = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left, top, width: Math.min(width, image.width - left), height: Math.min(height, image.height - top) })
    .resize(32, 32, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Up to five colours down to 8%: "is the motorcycle red?" turns on a colour that may be a
  // fifth of the box, not the one it mostly is.
  return dominantColours({ width: info.width, height: info.height, rgb: data }, 5, 0.08);
}

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
