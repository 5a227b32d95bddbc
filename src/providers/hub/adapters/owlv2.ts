/**
 * OWLv2 / OWL-ViT zero-shot object detection: boxes for text queries. The queries come from
 * the user's phrase ("the wooden and glass items" → "wooden items", "glass items").
 *
 * OWLv2 was trained on images padded to a square (bottom/right, grey 0.5) before resizing;
 * transformers.js's image processor resizes straight to 960×960 instead, which squashes
 * non-square photos. So for OWLv2 we pad first (as the Python processor does) and map the
 * boxes back from the square to the image. OWL-ViT was trained on plain resizes and is fed
 * the image as it is. The pipeline applies no non-maximum suppression, so we do, per label.
 */
import type { NormBox } from '../../../vision/analysis.js';
import { nms } from '../../../vision/detect/nms.js';
import { sessionOptions, toRawImage, type AdapterRuntime, type RuntimeImage, type RuntimeLoader } from './types.js';

const LEADING = /^(?:please\s+)?(?:(?:find|detect|locate|show|mark|box|point to|segment|give me|where (?:is|are))\s+)?(?:(?:all|every|each|any)\s+(?:of\s+)?)?(?:the|a|an|some|those|these)?\s*/i;
const TRAILING = /\s+(?:in|on|of|from)\s+(?:the|this|these|my)\s+(?:image|images|photo|photos|picture|pictures|scene)\s*$/i;
/** Words that describe rather than name: a lone one of these borrows the noun of the last part. */
const MODIFIERS = new Set([
  'wooden', 'wood', 'glass', 'metal', 'metallic', 'plastic', 'paper', 'stone', 'leather', 'steel', 'ceramic', 'cotton', 'golden', 'silver',
  'red', 'green', 'blue', 'yellow', 'black', 'white', 'grey', 'gray', 'brown', 'orange', 'pink', 'purple',
  'big', 'small', 'large', 'tiny', 'tall', 'short', 'long', 'round', 'square', 'old', 'new', 'dark', 'light', 'bright',
]);

const isModifier = (w: string) => MODIFIERS.has(w) || /(?:en|ic|al|ous|ful|ish|ive|less|ed)$/.test(w);

/**
 * A phrase → candidate labels: leading verbs/articles and "in the image" dropped, split on
 * commas, "and", "or", "&", "/"; a part that is a lone modifier takes the head noun of the
 * last part ("wooden and glass items" → "wooden items", "glass items"), while a list of
 * nouns stays a list ("cats and dogs" → "cats", "dogs"). Duplicates removed, order kept.
 */
export function splitLabels(phrase: string): string[] {
  let p = phrase.trim().replace(/[.?!。？！]+$/u, '').replace(/\s+/g, ' ');
  p = p.replace(TRAILING, '').replace(LEADING, '');
  const parts = p
    .split(/\s*(?:,|;|&|\/|\band\b|\bor\b)\s*/i)
    .map((s) => s.replace(LEADING, '').trim())
    .filter(Boolean);
  if (parts.length === 0) return phrase.trim() ? [phrase.trim()] : [];
  const last = parts.at(-1)!;
  const lastWords = last.split(' ');
  const head = lastWords.length > 1 ? lastWords.at(-1)! : undefined;
  const labels = parts.map((part, i) => {
    const words = part.split(' ');
    if (head && i < parts.length - 1 && words.length === 1 && isModifier(words[0]!.toLowerCase())) return `${part} ${head}`;
    return part;
  });
  return [...new Set(labels.map((l) => l.toLowerCase()))];
}

/** The square OWLv2 expects: the image at the top-left of a side×side grey canvas. */
export function padToSquare(image: RuntimeImage, fill = 128): RuntimeImage {
  const side = Math.max(image.width, image.height);
  if (image.width === image.height) return image;
  const rgb = new Uint8Array(side * side * 3).fill(fill);
  for (let y = 0; y < image.height; y++) rgb.set(image.rgb.subarray(y * image.width * 3, (y + 1) * image.width * 3), y * side * 3);
  return { width: side, height: side, rgb };
}

/** A box normalised to the padded square → normalised to the image, clamped. */
export function unpadBox(box: NormBox, width: number, height: number): NormBox {
  const side = Math.max(width, height);
  const sx = side / width;
  const sy = side / height;
  const c = (v: number) => Math.min(1, Math.max(0, v));
  return [c(box[0] * sx), c(box[1] * sy), c(box[2] * sx), c(box[3] * sy)];
}

export interface RawDetection {
  label: string;
  score: number;
  box: NormBox;
}

/** Per-label NMS over the pipeline's output, best first. */
export function suppressDuplicates(dets: readonly RawDetection[], labels: readonly string[], iouThreshold = 0.5, max = 100): RawDetection[] {
  const kept = nms(
    dets.map((d) => ({ classIndex: Math.max(0, labels.indexOf(d.label)), score: d.score, box: d.box })),
    { iouThreshold, maxDetections: max },
  );
  return kept.map((k) => ({ label: labels[k.classIndex] ?? '', score: k.score, box: k.box }));
}

export const DEFAULT_THRESHOLD = 0.1;

export interface OwlDetectArgs {
  image: RuntimeImage;
  labels: string[];
  threshold?: number;
}

export const loadOwlv2: RuntimeLoader = async (tf, opts) => {
  const detector = await tf.pipeline('zero-shot-object-detection', opts.modelId, {
    dtype: opts.dtype as never,
    device: 'cpu',
    session_options: sessionOptions(opts),
  });
  const pad = opts.modelType !== 'owlvit';
  const runtime: AdapterRuntime = {
    async call(method, args): Promise<RawDetection[]> {
      if (method !== 'detect') throw new Error(`owlv2 has no method ${method}`);
      const a = args as OwlDetectArgs;
      const input = pad ? padToSquare(a.image) : a.image;
      // percentage: boxes come back normalised to the (padded) input instead of in pixels.
      const out = (await detector(toRawImage(tf, input) as never, a.labels, { threshold: a.threshold ?? DEFAULT_THRESHOLD, percentage: true })) as unknown as Array<{
        label: string;
        score: number;
        box: { xmin: number; ymin: number; xmax: number; ymax: number };
      }>;
      const dets = out.map((d) => {
        const box: NormBox = [d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax];
        return { label: d.label, score: d.score, box: pad ? unpadBox(box, a.image.width, a.image.height) : box };
      });
      return suppressDuplicates(dets, a.labels);
    },
    async dispose() {
      await detector.dispose();
    },
  };
  return runtime;
};
