/**
 * The quality evaluation of the offline engine on real photos (Debian's darknet samples)
 * and rendered text, through the same code the server runs (router → offline provider → analyser →
 * models), in-process. Used by `npm run eval` (which writes docs/quality.md) and by the
 * floor tests (test/eval), which fail when a number drops below its floor.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { knownLabels, labelName } from '../src/engine/compose/labels.js';
import type { EngineRequest, InputPart } from '../src/seam/request.js';
import { createModelCatalog } from '../src/engine/model-catalog.js';
import { planTasks } from '../src/engine/planner.js';
import { OfflineVision } from '../src/engine/offline/vision.js';
import { createOfflineProvider, type InstalledModels } from '../src/engine/offline/provider.js';
import { RoutingEngine } from '../src/engine/router.js';
import { pino } from 'pino';
import { decodeImage, type DecodedImage } from '../src/media/decode.js';
import { analyseImage } from '../src/vision/analyser.js';
import { loadVisionModels, type LoadedVisionModels } from '../src/vision/load-models.js';
import { vocabulary } from '../src/vision/detect/coco.js';
import { DEFAULT_DETECTOR } from '../src/vision/detect/index.js';
import { decodeMaskPng } from '../src/vision/segment/mask-png.js';
import type { ObjectMask } from '../src/vision/analysis.js';
import { fixturePath } from '../test/support/fixtures.js';
import {
  characterAccuracy,
  iou,
  maskIou,
  matchDetections,
  mentionedClasses,
  precision,
  recall,
  type TruthObject,
} from './metrics.js';

export const PHOTOS = ['dog.jpg', 'person.jpg', 'horses.jpg', 'giraffe.jpg', 'kite.jpg', 'eagle.jpg', 'scream.jpg'] as const;

/** Rendered text for OCR: the reference is exactly what was drawn. */
export const TEXT_SAMPLES = [
  { name: 'sign', text: 'OCELLUS 2026', font: 'DejaVu Sans', size: 64, prompt: 'Read the text.' },
  { name: 'sentence', text: 'Image understanding on your own machine', font: 'DejaVu Sans', size: 36, prompt: 'Read the text.' },
  { name: 'serif', text: 'Files expire after 48 hours', font: 'DejaVu Serif', size: 40, prompt: 'Read the text.' },
  { name: 'traditional', text: '影像理解伺服器', font: 'WenQuanYi Zen Hei', size: 56, prompt: '讀出圖片中的文字。' },
  { name: 'simplified', text: '离线图像识别', font: 'WenQuanYi Zen Hei', size: 56, prompt: '读出图片中的文字。' },
];

export interface EvalOptions {
  detector?: string;
  masks?: boolean;
  ocr?: boolean;
  captions?: boolean;
}

export interface PhotoResult {
  photo: string;
  tp: number;
  fp: number;
  fn: number;
  wrongLabels: string[];
  caption?: string;
  mentioned?: string[];
  expected?: string[];
  hallucinated?: string[];
  maskIous?: Array<{ label: string; iou: number }>;
}

export interface EvalResult {
  detector: string;
  photos: PhotoResult[];
  detection: { precision: number; recall: number; tp: number; fp: number; fn: number };
  captions?: { mentionRecall: number; hallucinated: number };
  masks?: { meanIou: number; count: number };
  ocr?: Array<{ name: string; text: string; read: string; accuracy: number }>;
}

type Truth = { images: Record<string, TruthObject[]> };
export const loadTruth = (): Truth => JSON.parse(readFileSync(new URL('../test/vision/detect/ground-truth.json', import.meta.url), 'utf8')) as Truth;

const model = createModelCatalog().find('gemini-2.5-flash')!;

async function ask(engine: RoutingEngine, image: DecodedImage, prompt: string): Promise<string> {
  const parts: InputPart[] = [{ kind: 'image', label: 'eval', image }, { kind: 'text', text: prompt }];
  const wire = { contents: [{ role: 'user', parts: [{ text: prompt }] }] };
  const request: EngineRequest = { model, project: 'eval', wire, turns: [{ role: 'user', parts }], output: { mimeType: 'text/plain' }, signal: new AbortController().signal };
  let text = '';
  for await (const piece of engine.generate(request)) text += piece;
  return text;
}

/** A mask answer pasted into a full-image binary mask, as the guide's client code does. */
async function paste(mask: ObjectMask, width: number, height: number): Promise<Uint8Array> {
  const full = new Uint8Array(width * height);
  const x0 = Math.floor(mask.box[0] * width);
  const y0 = Math.floor(mask.box[1] * height);
  const w = Math.max(1, Math.floor(mask.box[2] * width) - x0);
  const h = Math.max(1, Math.floor(mask.box[3] * height) - y0);
  const decoded = await decodeMaskPng(mask.png);
  const resized = await sharp(decoded.data, { raw: { width: decoded.width, height: decoded.height, channels: 1 } })
    .resize(w, h, { fit: 'fill', kernel: 'linear' })
    .extractChannel(0) // keep one channel: sharp would hand grey back as sRGB
    .raw()
    .toBuffer();
  for (let y = 0; y < h && y0 + y < height; y++)
    for (let x = 0; x < w && x0 + x < width; x++) if (resized[y * w + x]! > 127) full[(y0 + y) * width + x0 + x] = 1;
  return full;
}

export async function renderText(sample: (typeof TEXT_SAMPLES)[number]): Promise<Buffer> {
  const wide = /\p{Script=Han}/u.test(sample.text) ? 1.05 : 0.62;
  const width = Math.ceil(sample.text.length * sample.size * wide) + 80;
  const height = sample.size * 2;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/><text x="40" y="${Math.round(sample.size * 1.35)}" font-family="${sample.font}" font-size="${sample.size}" fill="black">${sample.text}</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

export async function evaluate(opts: EvalOptions = {}, log: (s: string) => void = () => {}): Promise<EvalResult> {
  const detector = opts.detector ?? DEFAULT_DETECTOR;
  const caps: LoadedVisionModels = loadVisionModels({ detector, segment: opts.masks ?? true, ocrLatin: opts.ocr ?? true, ocrCjk: opts.ocr ?? true, safety: false, people: false });
  const installed: InstalledModels = { detect: true, segment: opts.masks ?? true, ocr: opts.ocr ?? true };
  const vision = new OfflineVision({ runModels: (img, needs) => analyseImage(caps, img, needs), installed });
  // Questions go through the router, as on the server: it plans once and hands the plan to the offline provider.
  const offline = createOfflineProvider(vision, installed);
  const engine = new RoutingEngine({ providers: new Map([[offline.id, offline]]), routing: { providers: {}, models: {} }, vocabulary, logger: pino({ level: 'silent' }) });
  const truth = loadTruth();
  const names = Object.fromEntries(knownLabels().map((l) => [l, [labelName(l, 'en', 1), labelName(l, 'en', 2)]]));
  const photos: PhotoResult[] = [];
  const allIous: number[] = [];
  try {
    for (const photo of PHOTOS) {
      const gt = truth.images[photo] ?? [];
      const image = await decodeImage(readFileSync(fixturePath(photo)), { partLabel: photo, maxPixels: 1e8 });
      const plan = planTasks('Detect all of the prominent items in the image.', { imageCount: 1, jsonRequested: true, vocabulary });
      const facts = await vision.look([image], plan, '');
      const objects = facts.images[0]!.objects;
      const m = matchDetections(objects, gt);
      const result: PhotoResult = { photo, tp: m.truePositives, fp: m.falsePositives, fn: m.falseNegatives, wrongLabels: m.wrongLabels };
      if (opts.captions ?? true) {
        const caption = await ask(engine, image, 'Caption this image.');
        const allowed = new Set(gt.flatMap((t) => [t.label, ...(t.also ?? [])]));
        const expected = [...new Set(gt.filter((t) => !t.difficult).map((t) => t.label))];
        const mentioned = mentionedClasses(caption, names);
        Object.assign(result, { caption, mentioned, expected, hallucinated: mentioned.filter((c) => !allowed.has(c)) });
      }
      if (opts.masks ?? true) {
        // Reference: SAM on the hand-drawn box (masks checked by eye); tested: SAM on the detector's box.
        const matched = objects
          .map((o) => ({ o, t: gt.find((t) => !t.difficult && [t.label, ...(t.also ?? [])].includes(o.label) && iou(o.box, t.box) >= 0.5) }))
          .filter((x): x is { o: (typeof objects)[number]; t: TruthObject } => x.t !== undefined);
        const rgb = { width: image.width, height: image.height, rgb: image.rgb };
        const tested = await analyseImage(caps, rgb, { segment: { boxes: matched.map((x) => ({ box: x.o.box, label: x.o.label })) } });
        const reference = await analyseImage(caps, rgb, { segment: { boxes: matched.map((x) => ({ box: x.t.box, label: x.t.label })) } });
        result.maskIous = [];
        for (let i = 0; i < matched.length; i++) {
          const v = maskIou(await paste(tested.masks![i]!, image.width, image.height), await paste(reference.masks![i]!, image.width, image.height));
          result.maskIous.push({ label: matched[i]!.o.label, iou: v });
          allIous.push(v);
        }
      }
      log(`${photo}: tp ${result.tp} fp ${result.fp} fn ${result.fn}${result.caption ? ` | ${result.caption}` : ''}`);
      photos.push(result);
    }
    const sum = (k: 'tp' | 'fp' | 'fn') => photos.reduce((s, p) => s + p[k], 0);
    const totals = { truePositives: sum('tp'), falsePositives: sum('fp'), falseNegatives: sum('fn') };
    const out: EvalResult = {
      detector,
      photos,
      detection: { precision: precision(totals), recall: recall(totals), tp: totals.truePositives, fp: totals.falsePositives, fn: totals.falseNegatives },
    };
    if (opts.captions ?? true) {
      const expected = photos.reduce((s, p) => s + (p.expected?.length ?? 0), 0);
      const alsoOf = (photo: string, label: string) =>
        new Set((truth.images[photo] ?? []).filter((t) => t.label === label).flatMap((t) => [t.label, ...(t.also ?? [])]));
      const hit = photos.reduce(
        (s, p) => s + (p.expected ?? []).filter((c) => [...alsoOf(p.photo, c)].some((l) => p.mentioned?.includes(l))).length,
        0,
      );
      out.captions = { mentionRecall: expected ? hit / expected : 1, hallucinated: photos.reduce((s, p) => s + (p.hallucinated?.length ?? 0), 0) };
    }
    if (opts.masks ?? true) out.masks = { meanIou: allIous.reduce((a, b) => a + b, 0) / Math.max(1, allIous.length), count: allIous.length };
    if (opts.ocr ?? true) {
      out.ocr = [];
      for (const sample of TEXT_SAMPLES) {
        const png = await renderText(sample);
        const img = await decodeImage(png, { partLabel: sample.name, maxPixels: 1e8 });
        const analysis = await analyseImage(caps, { width: img.width, height: img.height, rgb: img.rgb }, { ocr: { prompt: sample.prompt } });
        const read = (analysis.text ?? []).map((l) => l.text).join(' ');
        // Chinese is written without spaces; a reader's line breaks must not count as errors.
        const compared = /\p{Script=Han}/u.test(sample.text) ? read.replace(/\s+/g, '') : read;
        out.ocr.push({ name: sample.name, text: sample.text, read, accuracy: characterAccuracy(compared, sample.text) });
        log(`ocr ${sample.name}: "${read}"`);
      }
    }
    return out;
  } finally {
    await caps.dispose();
  }
}
