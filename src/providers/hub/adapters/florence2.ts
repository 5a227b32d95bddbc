/**
 * Florence-2 (onnx-community/Florence-2-base-ft, -large-ft): one seq2seq model, many tasks
 * chosen by a task token. Regions come back as `<loc_N>` tokens, N in 0..999: bins over the
 * processor's resized image. Florence resizes to a fixed square without keeping the aspect
 * ratio, so a bin maps linearly onto the original image and the normalised coordinate is
 * simply the bin's centre, (N + 0.5) / 1000 (Florence's own dequantiser does the same in
 * pixels). We parse the tokens ourselves because transformers.js's post_process_generation
 * has no polygon (segmentation) case and wants pixel sizes we do not need.
 */
import type { NormBox } from '../../../vision/analysis.js';
import type { Polygon } from '../polygon-mask.js';
import { sessionOptions, toRawImage, type AdapterRuntime, type RuntimeImage, type RuntimeLoader } from './types.js';

export const FLORENCE_TASKS = {
  caption: '<CAPTION>',
  detailedCaption: '<DETAILED_CAPTION>',
  moreDetailedCaption: '<MORE_DETAILED_CAPTION>',
  detectAll: '<OD>',
  ground: '<CAPTION_TO_PHRASE_GROUNDING>',
  segment: '<REFERRING_EXPRESSION_SEGMENTATION>',
  ocr: '<OCR>',
  ocrWithRegion: '<OCR_WITH_REGION>',
} as const;

export type FlorenceTask = (typeof FLORENCE_TASKS)[keyof typeof FLORENCE_TASKS];

export const LOC_BINS = 1000;

/** Which caption task a free-form prompt wants: short when asked for brevity, most detailed when asked for detail. */
export function captionTaskFor(prompt: string): FlorenceTask {
  const p = prompt.toLowerCase();
  if (/\b(short|brief|one[- ]sentence|one line|few words|concise|title)\b|簡短|简短|一句/.test(p)) return FLORENCE_TASKS.caption;
  if (/\b(detail|detailed|in depth|thorough|everything|describe)\b|詳細|详细|描述/.test(p)) return FLORENCE_TASKS.moreDetailedCaption;
  return FLORENCE_TASKS.detailedCaption;
}

/** The text the model is given: the task token, followed by the phrase for tasks that take one. */
export function florencePrompt(task: FlorenceTask, phrase?: string): string {
  return phrase ? `${task}${phrase.trim()}` : task;
}

/** A loc bin → normalised coordinate (bin centre), clamped to the bins that exist. */
export function locToNorm(bin: number): number {
  const b = Math.min(LOC_BINS - 1, Math.max(0, Math.round(bin)));
  return (b + 0.5) / LOC_BINS;
}

/** Drops the sequence tokens the decoder emits around the answer. */
export function cleanFlorenceText(text: string): string {
  return text.replace(/<\/?s>|<pad>/g, '').trim();
}

export interface LabelledBox {
  label: string;
  box: NormBox;
}

const orderBox = (a: number, b: number, c: number, d: number): NormBox => [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)];

/**
 * `dog<loc_52><loc_332><loc_932><loc_774>car<loc_…>…` → labelled boxes (x0, y0, x1, y1). A box
 * with no text before it belongs to the previous label (several instances of one phrase).
 */
export function parseLocBoxes(raw: string): LabelledBox[] {
  const text = cleanFlorenceText(raw);
  const out: LabelledBox[] = [];
  let last = '';
  for (const m of text.matchAll(/([^<]*)<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>/g)) {
    const label = m[1]!.trim();
    if (label) last = label;
    const [x0, y0, x1, y1] = [m[2], m[3], m[4], m[5]].map((v) => locToNorm(Number(v))) as [number, number, number, number];
    const box = orderBox(x0, y0, x1, y1);
    if (box[2] > box[0] && box[3] > box[1]) out.push({ label: label || last, box });
  }
  return out;
}

export interface QuadText {
  text: string;
  /** Four corners, normalised, in the model's order (clockwise from top-left). */
  quad: [number, number][];
  /** The quad's bounds. */
  box: NormBox;
}

/** `<OCR_WITH_REGION>` output: text followed by eight loc tokens (a quadrilateral) per line. */
export function parseQuads(raw: string): QuadText[] {
  const text = cleanFlorenceText(raw);
  const out: QuadText[] = [];
  const re = /([^<]*)((?:<loc_\d+>){8})/g;
  for (const m of text.matchAll(re)) {
    const line = m[1]!.trim();
    const bins = [...m[2]!.matchAll(/<loc_(\d+)>/g)].map((x) => locToNorm(Number(x[1])));
    const quad: [number, number][] = [0, 2, 4, 6].map((i) => [bins[i]!, bins[i + 1]!]);
    const xs = quad.map((p) => p[0]);
    const ys = quad.map((p) => p[1]);
    if (!line) continue;
    out.push({ text: line, quad, box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] });
  }
  return out;
}

/**
 * `<REFERRING_EXPRESSION_SEGMENTATION>` output: x,y loc pairs per polygon, polygons split by
 * `<sep>` (and sometimes wrapped in `<poly>…</poly>`), as Florence's own post-processor reads
 * it. An odd trailing coordinate is dropped; polygons with fewer than three points enclose nothing.
 */
export function parsePolygons(raw: string): Polygon[] {
  const text = cleanFlorenceText(raw).replace(/<\/?poly>/g, '<sep>');
  const polys: Polygon[] = [];
  for (const piece of text.split('<sep>')) {
    const bins = [...piece.matchAll(/<loc_(\d+)>/g)].map((m) => locToNorm(Number(m[1])));
    const poly: Polygon = [];
    for (let i = 0; i + 1 < bins.length; i += 2) poly.push([bins[i]!, bins[i + 1]!]);
    if (poly.length >= 3) polys.push(poly);
  }
  return polys;
}

// ---- the model, in the worker --------------------------------------------------------

export interface FlorenceGenerateArgs {
  task: FlorenceTask;
  phrase?: string;
  image: RuntimeImage;
  maxNewTokens?: number;
}

/**
 * Loads processor + Florence2ForConditionalGeneration from the local store and answers
 * `generate`: the raw decoded text, special tokens kept (the `<loc_N>` tokens are special
 * tokens, and the parsers above need them).
 */
export const loadFlorence2: RuntimeLoader = async (tf, opts) => {
  const [processor, model] = await Promise.all([
    tf.AutoProcessor.from_pretrained(opts.modelId),
    tf.Florence2ForConditionalGeneration.from_pretrained(opts.modelId, {
      dtype: opts.dtype as never,
      device: 'cpu',
      session_options: sessionOptions(opts),
    }),
  ]);
  const runtime: AdapterRuntime = {
    async call(method, args, ctl) {
      if (method !== 'generate') throw new Error(`florence2 has no method ${method}`);
      const a = args as FlorenceGenerateArgs;
      const image = toRawImage(tf, a.image);
      // The processor turns task tokens into Florence's prompts ("What does the image describe?" …).
      const inputs = await (processor as unknown as (img: unknown, text: string) => Promise<Record<string, unknown>>)(image, florencePrompt(a.task, a.phrase));
      const stop = new tf.InterruptableStoppingCriteria();
      const onAbort = () => stop.interrupt();
      ctl.signal.addEventListener('abort', onAbort, { once: true });
      try {
        const ids = await model.generate({ ...inputs, max_new_tokens: a.maxNewTokens ?? 1024, do_sample: false, stopping_criteria: stop } as never);
        return processor.batch_decode(ids as never, { skip_special_tokens: false })[0] ?? '';
      } finally {
        ctl.signal.removeEventListener('abort', onAbort);
      }
    },
    async dispose() {
      await model.dispose();
    },
  };
  return runtime;
};
