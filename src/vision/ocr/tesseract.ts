/**
 * English text with tesseract.js 7 (Tesseract 5 LSTM compiled to wasm, in a worker thread)
 * and the `@tesseract.js-data/eng` package's `4.0.0_best_int` model.
 *
 * Offline: in Node, tesseract.js `require`s its wasm core from the `tesseract.js-core`
 * package (`corePath` is only read by the browser build; it is set here anyway, to
 * node_modules), starts its worker from `tesseract.js/src/worker-script/node/index.js`
 * (`workerPath`), and reads `eng.traineddata.gz` from a local `langPath` (a plain directory
 * path, which tesseract.js reads with fs rather than fetch). `cacheMethod: 'none'` keeps it
 * from writing a copy of the model to the working directory. Left unset, `langPath` would be
 * jsDelivr's CDN: it is always set.
 *
 * Uneven light: tesseract binarises with one global Otsu threshold, so a page in shadow on
 * one side lost the start of every line there (skimage's page.png: "-based segmentation").
 * Images whose background varies (`UNEVEN_LIGHTING`) are read a second time with the
 * lighting evened out (illumination.ts) and the reading with more confident characters kept.
 *
 * Confidence floor: tesseract's line confidence (0-100 → 0..1) is 0.94-0.96 on clean rendered
 * text and on a sign pasted onto a photo, 0.20 on a line of Chinese read as English (0.61 for
 * one mixing Chinese with "OCR 2026"), 0.36 for a speck of photo texture ("aN"), and 0.46-0.52
 * for the brush strokes of scream.jpg in PSM 6. Lines under 0.60 are dropped
 * (`DEFAULT_TESSERACT_FLOOR`). Inside a kept line,
 * words with no letter or digit under the same floor (edge bars, stray colons) are dropped;
 * other words under it are kept but reported as rejected, for `needsFallback`.
 */
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import Tesseract from 'tesseract.js';
import { flattenIllumination, toPgm } from './illumination.js';
import { cleanText, hasContent, linesScore, mergeLines, normaliseConfidence, pixelBoxToBox } from './lines.js';
import type { DetailedTextReader, ReadDetail, RgbImage, TextLine } from './types.js';

export const DEFAULT_TESSERACT_FLOOR = 0.6;
/**
 * Background spread (illumination.ts `spread`) from which an image also gets an evened-out
 * reading: 0.000 for scans and renders, 0.466 for skimage's page.png, 0.26-0.79 for photos.
 */
export const UNEVEN_LIGHTING = 0.15;

export interface TesseractOptions {
  /** Lines under this confidence (0..1) are dropped. Default 0.6. */
  confidenceFloor?: number;
  /**
   * Also read an evened-out copy of unevenly lit images (illumination.ts) and keep the
   * better reading. Default true: without it a page in shadow loses the start of every line
   * in the shadow. False reads the pixels as given only (for measurements).
   */
  flatten?: boolean;
}

const require = createRequire(import.meta.url);

/** Where everything tesseract.js loads comes from: all inside node_modules. */
export function tesseractPaths(): { workerPath: string; corePath: string; langPath: string } {
  const pkgDir = (name: string): string => path.dirname(require.resolve(`${name}/package.json`));
  return {
    workerPath: path.join(pkgDir('tesseract.js'), 'src', 'worker-script', 'node', 'index.js'),
    corePath: pkgDir('tesseract.js-core'),
    langPath: path.join(pkgDir('@tesseract.js-data/eng'), '4.0.0_best_int'),
  };
}

/** Binary PPM (P6): the cheapest encoding Leptonica reads, no compression work. */
export function toPpm(img: RgbImage): Buffer {
  if (img.rgb.length !== img.width * img.height * 3) throw new Error(`toPpm: expected ${img.width}x${img.height}x3 bytes, got ${img.rgb.length}`);
  const header = Buffer.from(`P6\n${img.width} ${img.height}\n255\n`, 'latin1');
  return Buffer.concat([header, img.rgb]);
}

/**
 * Tesseract's page → lines kept (line confidence ≥ floor) and fragments rejected: lines under
 * the floor, and the words under it inside kept lines (all with some letter or digit).
 */
export function linesFromPage(page: Tesseract.Page, width: number, height: number, floor: number): ReadDetail {
  const lines: TextLine[] = [];
  const rejected: TextLine[] = [];
  for (const block of page.blocks ?? [])
    for (const para of block.paragraphs)
      for (const line of para.lines) {
        const confidence = normaliseConfidence(line.confidence, 100);
        const text = cleanText(line.text);
        if (!hasContent(text)) continue;
        if (confidence < floor) {
          rejected.push({ text, confidence, box: pixelBoxToBox(line.bbox, width, height) });
          continue;
        }
        const words = line.words.filter((w) => hasContent(w.text) || normaliseConfidence(w.confidence, 100) >= floor);
        // Uncertain words stay in the line but count towards the fallback signal: Chinese
        // next to Latin comes out as one line like "XFiR% OCR 2026" (0.83) whose first word
        // is at 0.57.
        for (const w of words) {
          const c = normaliseConfidence(w.confidence, 100);
          if (c < floor) rejected.push({ text: cleanText(w.text), confidence: c, box: pixelBoxToBox(w.bbox, width, height) });
        }
        const kept = words.length > 0 ? words : line.words;
        const bbox = kept.reduce(
          (b, w) => ({ x0: Math.min(b.x0, w.bbox.x0), y0: Math.min(b.y0, w.bbox.y0), x1: Math.max(b.x1, w.bbox.x1), y1: Math.max(b.y1, w.bbox.y1) }),
          { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity },
        );
        lines.push({
          text: cleanText(kept.map((w) => w.text).join(' ')),
          confidence,
          box: pixelBoxToBox(kept.length > 0 && Number.isFinite(bbox.x0) ? bbox : line.bbox, width, height),
        });
      }
  return { lines: mergeLines(lines, { aspect: width / height }), rejected };
}

export class TesseractReader implements DetailedTextReader {
  readonly id = 'tesseract';
  readonly languages = ['en'];
  readonly confidenceFloor: number;
  readonly flatten: boolean;
  #worker: Tesseract.Worker | undefined;
  #loading: Promise<Tesseract.Worker> | undefined;
  /** tesseract.js runs one job at a time per worker; reads queue here. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: TesseractOptions = {}) {
    this.confidenceFloor = options.confidenceFloor ?? DEFAULT_TESSERACT_FLOOR;
    this.flatten = options.flatten ?? true;
  }

  async load(): Promise<void> {
    await this.#ensureWorker();
  }

  #ensureWorker(): Promise<Tesseract.Worker> {
    if (this.#worker) return Promise.resolve(this.#worker);
    this.#loading ??= (async () => {
      try {
        const paths = tesseractPaths();
        // tesseract.js 7 never settles createWorker when the language data fails to load
        // (only errors of its 'load' step reject it), so check the file first and turn the
        // errorHandler call into a rejection.
        await access(path.join(paths.langPath, 'eng.traineddata.gz'));
        let loaded = false;
        let failLoad: (err: Error) => void = () => {};
        const failed = new Promise<never>((_, reject) => {
          failLoad = reject;
        });
        const worker = await Promise.race([
          Tesseract.createWorker('eng', Tesseract.OEM.LSTM_ONLY, {
            ...paths,
            gzip: true,
            cacheMethod: 'none',
            logger: () => {},
            // Without an errorHandler tesseract.js throws job errors inside its message
            // listener (an uncaught exception); the job's own promise rejects either way.
            errorHandler: (err: unknown) => {
              if (!loaded) failLoad(new Error(`tesseract.js failed to load: ${String(err)}`));
            },
          }),
          failed,
        ]);
        loaded = true;
        // TessBaseAPI starts in PSM 6 (one uniform block): on photos that reads textures as
        // lines of garbage and takes seconds. PSM 3 (the tesseract CLI's default: full layout
        // analysis) drops non-text regions, finds the sign on a photo that PSM 6 missed, and
        // is 3-10x faster on text-free photos. debug_file silences "Estimating resolution".
        await worker.setParameters({ tessedit_pageseg_mode: Tesseract.PSM.AUTO, debug_file: '/dev/null' });
        this.#worker = worker;
        return worker;
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  async readDetailed(img: RgbImage): Promise<ReadDetail> {
    const run = this.#queue.then(async () => {
      const worker = await this.#ensureWorker();
      // Same size every way, so tesseract's pixel boxes map onto `img` unchanged.
      const read = async (input: Buffer): Promise<ReadDetail> =>
        linesFromPage((await worker.recognize(input, {}, { text: false, blocks: true })).data, img.width, img.height, this.confidenceFloor);
      const asGiven = await read(toPpm(img));
      if (!this.flatten) return asGiven;
      // Evenly lit images (scans, renders, screenshots) are read once, as given. Unevenly lit
      // ones are read evened out as well, and the reading with more confidently read
      // characters kept: flattening restores the line starts of a page in shadow, but on a
      // photo it can also dim a sign against its bright surroundings ('EXIT 12' on a white
      // sky was lost), so it must not replace the plain reading outright.
      // A reading that kept nothing is left alone too: that is a photo without text, or text
      // tesseract's layout analysis does not find in a photo at all, which readText hands to
      // PP-OCR (it reads a page in shadow as well: 0.97 of skimage's page.png).
      if (!asGiven.lines.some((l) => hasContent(l.text))) return asGiven;
      const flat = flattenIllumination(img);
      if (flat.spread < UNEVEN_LIGHTING) return asGiven;
      const evened = await read(toPgm(flat));
      return linesScore(evened.lines) > linesScore(asGiven.lines) ? evened : asGiven;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async read(img: RgbImage): Promise<TextLine[]> {
    return (await this.readDetailed(img)).lines;
  }

  async dispose(): Promise<void> {
    await this.#queue;
    const worker = this.#worker ?? (await this.#loading?.catch(() => undefined));
    this.#worker = undefined;
    if (worker) await worker.terminate();
  }
}
