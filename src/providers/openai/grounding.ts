/**
 * Grounding through a chat VLM: the prompt that makes each model family answer boxes, and
 * the conversion of what it answers back to normalised [x0, y0, x1, y1] of the image. Pure.
 *
 * Families disagree on everything that matters:
 *  - Qwen2.5-VL answers absolute pixels of the image *as its processor resized it*
 *    (smart_resize: sides rounded to multiples of 28 within a pixel budget), x first, in
 *    `[{"bbox_2d": [x1, y1, x2, y2], "label": …}]`. Dividing by the size we sent is wrong
 *    whenever the processor rounded; dividing by smart_resize(sent) is right.
 *  - Qwen3-VL answers the same JSON but relative, 0..1000, x first.
 *  - InternVL answers `<ref>label</ref><box>[[x1, y1, x2, y2], …]</box>`, 0..1000, x first.
 *  - Everything else (Gemma 3 included, which has no grounding format of its own) is asked
 *    for Gemini's: `box_2d` [ymin, xmin, ymax, xmax], 0..1000.
 * Models drift from the format they were asked for, so parsing is tolerant: fences, stray
 * prose, a truncated list, `bbox_2d` / `box_2d` / `bbox` keys (the key decides the axis
 * order), one object instead of a list. Malformed entries are dropped, boxes clamped.
 */
import type { OpenAiProviderSpec } from './config.js';
import type { GroundingQuery } from '../../seam/provider.js';
import type { NormBox } from '../../vision/analysis.js';

export type Family = NonNullable<OpenAiProviderSpec['family']>;

/** The family a served model name belongs to (`qwen2.5vl:7b`, `Qwen/Qwen3-VL-8B-Instruct`, `OpenGVLab/InternVL3-8B`…). */
export function guessFamily(model: string): Family {
  const m = model.toLowerCase();
  if (/qwen2[._-]?5[._ -]?vl/.test(m)) return 'qwen2.5-vl';
  if (/qwen3[._ -]?vl/.test(m)) return 'qwen3-vl';
  if (/intern[._ -]?vl/.test(m)) return 'internvl';
  if (/gemma[._ -]?3/.test(m)) return 'gemma3';
  return 'generic';
}

export const familyOf = (spec: Pick<OpenAiProviderSpec, 'family' | 'model'>): Family => spec.family ?? guessFamily(spec.model);

// ---- Qwen's smart_resize --------------------------------------------------------------

export interface SmartResizeOptions {
  /** patch size × spatial merge size: 28 for Qwen2-VL and Qwen2.5-VL (14 × 2). */
  factor?: number;
  minPixels?: number;
  maxPixels?: number;
}

/** Qwen2.5-VL's preprocessor_config.json: min_pixels 3136 (56²), max_pixels 12845056 (28² × 16384). */
export const QWEN25_DEFAULTS = { factor: 28, minPixels: 3136, maxPixels: 12_845_056 } as const;

/** Python's round(): halves go to the even neighbour (round(2.5) == 2), which smart_resize inherits. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The size Qwen's image processor resizes an image to, as `qwen_vl_utils.smart_resize`
 * computes it: each side rounded to a multiple of `factor` (at least one factor), then,
 * if the area leaves [minPixels, maxPixels], both sides scaled by one β and floored
 * (too big) or ceiled (too small) to multiples of `factor`.
 */
export function smartResize(width: number, height: number, opts: SmartResizeOptions = {}): { width: number; height: number } {
  const factor = opts.factor ?? QWEN25_DEFAULTS.factor;
  const minPixels = opts.minPixels ?? QWEN25_DEFAULTS.minPixels;
  const maxPixels = opts.maxPixels ?? QWEN25_DEFAULTS.maxPixels;
  let h = Math.max(factor, roundHalfEven(height / factor) * factor);
  let w = Math.max(factor, roundHalfEven(width / factor) * factor);
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { width: w, height: h };
}

/**
 * The size to send a Qwen2.5-VL server for grounding: already on its 28-pixel grid and
 * within a pixel budget every common server accepts unchanged (28² × 1280 ≈ 1 MP: the
 * Qwen cookbook's max_pixels; Ollama caps at 2 MiP, vLLM and transformers at 12.8 MP), so
 * the server's own smart_resize is the identity and its pixel answer refers to exactly
 * the image we sent, whatever max_pixels that server was configured with.
 */
export const QWEN25_GROUNDING_MAX_PIXELS = 28 * 28 * 1280;

export function groundingSize(family: Family, width: number, height: number): { width: number; height: number } {
  if (family !== 'qwen2.5-vl') return { width, height };
  return smartResize(width, height, { maxPixels: QWEN25_GROUNDING_MAX_PIXELS });
}

// ---- prompts --------------------------------------------------------------------------

const subject = (q: GroundingQuery): string => (q.all || !q.phrase.trim() ? 'all prominent objects' : q.phrase.trim());

/** The user prompt that makes `family` answer boxes for `query`, in the wording each family was trained on. */
export function groundingPrompt(family: Family, query: GroundingQuery): string {
  const what = subject(query);
  switch (family) {
    case 'qwen2.5-vl':
      // Qwen2.5-VL's grounding cookbook wording; it answers absolute pixels of its input.
      return `Locate every instance of ${what} in the image and output their bbox coordinates in JSON format: [{"bbox_2d": [x1, y1, x2, y2], "label": "..."}].`;
    case 'qwen3-vl':
      // Qwen3-VL's cookbook: relative 0..1000 coordinates in the same JSON.
      return `Locate every instance of ${what} in the image. Report bbox coordinates in JSON format: [{"bbox_2d": [x1, y1, x2, y2], "label": "..."}].`;
    case 'internvl':
      // InternVL's referring-detection template: <ref>…</ref> in, <ref>…</ref><box>[[…]]</box> out.
      return query.all || !query.phrase.trim()
        ? 'Please detect all prominent objects in the image. For each one answer <ref>label</ref><box>[[x1, y1, x2, y2]]</box>.'
        : `Please provide the bounding box coordinates of every region this sentence describes: <ref>${what}</ref>`;
    case 'gemma3':
    case 'generic':
      return (
        `Detect ${what} in the image. Answer only with a JSON list, one entry per object: ` +
        `[{"box_2d": [ymin, xmin, ymax, xmax], "label": "..."}], coordinates normalised to 0-1000. ` +
        'Answer [] if there is none.'
      );
  }
}

// ---- parsing --------------------------------------------------------------------------

/** One box as the model wrote it, before any conversion. */
export interface RawBox {
  /** x-first ([x1, y1, x2, y2]: `bbox_2d`, `bbox`, InternVL) or y-first (Gemini's `box_2d`). */
  order: 'xy' | 'yx';
  values: [number, number, number, number];
  label?: string;
  score?: number;
}

const BOX_KEYS: Array<[string, RawBox['order']]> = [
  ['box_2d', 'yx'],
  ['bbox_2d', 'xy'],
  ['bbox', 'xy'],
  ['box', 'xy'],
  ['bounding_box', 'xy'],
];
const LABEL_KEYS = ['label', 'name', 'category', 'class', 'object'];
const SCORE_KEYS = ['score', 'confidence', 'probability'];

function fourNumbers(v: unknown): [number, number, number, number] | undefined {
  // Some answers nest one level: "bbox_2d": [[x1, y1, x2, y2]].
  if (Array.isArray(v) && v.length === 1 && Array.isArray(v[0])) v = v[0];
  if (!Array.isArray(v) || v.length !== 4) return undefined;
  const n = v.map((x) => (typeof x === 'string' && x.trim() !== '' ? Number(x) : x));
  return n.every((x): x is number => typeof x === 'number' && Number.isFinite(x)) ? (n as [number, number, number, number]) : undefined;
}

function boxOfObject(o: Record<string, unknown>): RawBox | undefined {
  for (const [key, order] of BOX_KEYS) {
    if (!(key in o)) continue;
    const values = fourNumbers(o[key]);
    if (!values) return undefined; // the key is there but its value is malformed: drop the entry
    const label = LABEL_KEYS.map((k) => o[k]).find((x): x is string => typeof x === 'string' && x.trim() !== '');
    const score = SCORE_KEYS.map((k) => o[k]).find((x): x is number => typeof x === 'number' && Number.isFinite(x));
    return { order, values, ...(label ? { label: label.trim() } : {}), ...(score !== undefined ? { score } : {}) };
  }
  return undefined;
}

/** Every box-bearing object anywhere in a parsed JSON value ({"objects": [...]}, a bare object, a list). */
function collect(value: unknown, out: RawBox[], depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, depth + 1);
    return;
  }
  const box = boxOfObject(value as Record<string, unknown>);
  if (box) out.push(box);
  else for (const v of Object.values(value)) collect(v, out, depth + 1);
}

/** JSON as small models write it: trailing commas and single-quoted strings repaired. */
function parseLooseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const repaired = text.replace(/,\s*([}\]])/g, '$1').replace(/'([^'"\\]*)'/g, '"$1"');
    return JSON.parse(repaired);
  }
}

function withoutFences(text: string): string {
  const fenced = /```(?:json|JSON)?\s*\n?([\s\S]*?)(?:```|$)/.exec(text);
  return (fenced ? fenced[1]! : text).trim();
}

/** Boxes from a JSON answer: the whole (fenced or not) when it parses, else each flat `{…}` object that does (a truncated list keeps its complete entries). */
export function parseJsonBoxes(text: string): RawBox[] {
  const body = withoutFences(text);
  const out: RawBox[] = [];
  const start = body.search(/[[{]/);
  if (start >= 0) {
    const end = Math.max(body.lastIndexOf(']'), body.lastIndexOf('}'));
    if (end > start) {
      try {
        collect(parseLooseJson(body.slice(start, end + 1)), out);
        return out;
      } catch {
        /* not one JSON value: salvage the objects one by one */
      }
    }
  }
  for (const m of body.matchAll(/\{[^{}]*\}/g)) {
    try {
      collect(parseLooseJson(m[0]), out);
    } catch {
      /* a malformed entry is dropped */
    }
  }
  return out;
}

/** InternVL's `<ref>label</ref><box>[[x1,y1,x2,y2], …]</box>` pairs; a `<box>` without a ref takes the query's label. */
export function parseRefBoxes(text: string, fallbackLabel?: string): RawBox[] {
  const out: RawBox[] = [];
  let label = fallbackLabel;
  for (const m of text.matchAll(/<ref>([\s\S]*?)<\/ref>|<box>([\s\S]*?)<\/box>/g)) {
    if (m[1] !== undefined) {
      label = m[1].trim() || fallbackLabel;
      continue;
    }
    let value: unknown;
    try {
      value = parseLooseJson(m[2]!.trim());
    } catch {
      continue;
    }
    const list = fourNumbers(value) ? [value] : Array.isArray(value) ? value : [];
    for (const b of list) {
      const values = fourNumbers(b);
      if (values) out.push({ order: 'xy', values, ...(label ? { label } : {}) });
    }
  }
  return out;
}

/** What a family's answer holds, in whichever of the known shapes it came. */
export function parseGroundingAnswer(family: Family, text: string, fallbackLabel?: string): RawBox[] {
  if (/<box>/.test(text)) return parseRefBoxes(text, fallbackLabel);
  const boxes = parseJsonBoxes(text);
  if (boxes.length || family !== 'internvl') return boxes;
  // InternVL sometimes drops the tags and answers a bare [[x1, y1, x2, y2]] list.
  return parseRefBoxes(`<box>${withoutFences(text)}</box>`, fallbackLabel);
}

// ---- conversion -----------------------------------------------------------------------

export interface ConvertContext {
  family: Family;
  /** The size of the image as sent to the server (after any scaling we did). */
  sent: { width: number; height: number };
}

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

/**
 * One raw box → normalised [x0, y0, x1, y1] of the image, or undefined when it is
 * degenerate. Qwen2.5-VL's pixels are relative to smart_resize(sent); the other families
 * answer 0..1000. Coordinates that are all fractions in 0..1 (a model that ignored the
 * requested scale) are taken as already normalised.
 */
export function toNormBox(raw: RawBox, ctx: ConvertContext): NormBox | undefined {
  const [a, b, c, d] = raw.values;
  let [x0, y0, x1, y1] = raw.order === 'xy' ? [a, b, c, d] : [b, a, d, c];
  const fractions = raw.values.every((v) => v >= 0 && v <= 1) && raw.values.some((v) => !Number.isInteger(v));
  if (fractions) {
    /* already 0..1 */
  } else if (ctx.family === 'qwen2.5-vl') {
    const input = smartResize(ctx.sent.width, ctx.sent.height);
    x0 /= input.width;
    x1 /= input.width;
    y0 /= input.height;
    y1 /= input.height;
  } else {
    x0 /= 1000;
    x1 /= 1000;
    y0 /= 1000;
    y1 /= 1000;
  }
  // Corners written in the wrong order still describe the box.
  const box: NormBox = [clamp01(Math.min(x0, x1)), clamp01(Math.min(y0, y1)), clamp01(Math.max(x0, x1)), clamp01(Math.max(y0, y1))];
  if (box[2] - box[0] <= 0 || box[3] - box[1] <= 0) return undefined;
  return box;
}
