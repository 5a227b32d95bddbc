/**
 * The people analyser: faces with an expression, and body poses with a posture, from four
 * small TF.js graph models that ship inside @vladmandic/human@3.3.6 (MIT):
 *
 *   models/blazeface.json          BlazeFace (MediaPipe, back camera), 256², face boxes
 *   models/facemesh.json           FaceMesh, 192²; only its face-presence output is used,
 *                                  to drop BlazeFace's hits on animals and backs of heads
 *   models/emotion.json            oarriaga FER-2013 CNN, 64² grey, 7 expressions
 *   models/movenet-lightning.json  MoveNet SinglePose Lightning, 192², 17 keypoints
 *
 * They run on the project's own TF.js wasm backend (src/vision/detect/tfjs-model.ts), read
 * from disk through its IOHandler. Human's own pipeline is not used: its node-wasm build
 * does share this TF.js (it requires @tensorflow/* rather than bundling them), but it
 * needs a file:// fetch shim, keeps global per-process state, and on the test photos it
 * found no face on a strip of five frontal faces and reported a "body" on dog.jpg.
 *
 * Per image:
 *  1. The image becomes a float tensor, block-averaged first when its longer side is over
 *     `maxSide` (default 1280).
 *  2. Faces: BlazeFace on the whole image letterboxed into 256², and on 2–4 overlapping
 *     tiles zoomed 1.6× (smaller faces) → boxes ≥ minFaceScore → NMS → FaceMesh's face
 *     flag on a 1.4× square crop of each (batched) → the emotion model on square crops of
 *     each survivor at 1× and 1.2× the box, plain and mirrored, probabilities averaged
 *     (one batch for all faces).
 *  3. Poses, top-down: MoveNet on a square crop (the whole image, or each person box the
 *     caller passes), then again on a square around what it found, which both sharpens
 *     the keypoints and tells people from animals (a non-person scores low on the second
 *     pass). Without person boxes, a found person is blacked out and the whole image is
 *     searched again, up to maxPoses.
 */
import { iou, nms, type Candidate } from '../detect/nms.js';
import { requireModelFile, type ModelPackage } from '../detect/model-files.js';
import { checkImage } from '../detect/preprocess.js';
import { loadGraphModelFromFile, tf, type GraphModel } from '../detect/tfjs-model.js';
import type { Box } from '../detect/types.js';
import { cropBox, cropToPixels, faceTiles, frameOf, poolFactor, poolRgb, squareAround, toNormBox, wholeImageCrop, type Frame, type SquareCrop } from './crop.js';
import {
  assembleBlazeFaceOutputs,
  BLAZEFACE_INPUT,
  blazeFaceAnchors,
  decodeBlazeFace,
  EMOTION_INPUT,
  expressionFromScores,
  FACEMESH_INPUT,
  GREY_WEIGHTS,
} from './face.js';
import { classifyPosture, decodeMoveNet, isPerson, meanScore, MOVENET_INPUT, normaliseKeypoints, poseBoxPixels, refineCrop, type PixelKeypoint } from './pose.js';
import type { AnalyseOptions, Face, NormBox, PeopleAnalyser, PeopleAnalysis, Pose, RgbImage } from './types.js';

const HUMAN = { name: '@vladmandic/human', version: '3.3.6' } as const;
const humanModel = (base: string): ModelPackage => ({ ...HUMAN, files: [`models/${base}.json`, `models/${base}.bin`] });

/** Where each model's files are (one npm package, four models). */
export const PEOPLE_MODELS = {
  blazeface: humanModel('blazeface'),
  facemesh: humanModel('facemesh'),
  emotion: humanModel('emotion'),
  movenet: humanModel('movenet-lightning'),
} as const satisfies Record<string, ModelPackage>;

/** The FaceMesh output holding the face-presence probability ([n, 1], already a sigmoid). */
const FACEMESH_FLAG = 'output_faceflag';

export interface PeopleAnalyserOptions {
  /** Directory holding @vladmandic/human (or its files); else node_modules, then the model cache. */
  modelDir?: string;
  /** Look for faces. Default true. */
  faces?: boolean;
  /** Read an expression for each face (the emotion model). Default true. */
  expressions?: boolean;
  /** Look for body poses. Default true. */
  poses?: boolean;
  /** BlazeFace score a face box needs. Default 0.55. */
  minFaceScore?: number;
  /** FaceMesh face-presence probability a face needs. Default 0.95 (real faces score ≥ 0.995 on the test photos, an eagle's head 0.94). */
  minFacePresence?: number;
  /**
   * Also look for faces in 2–4 overlapping tiles zoomed 1.6× (./crop.ts faceTiles): smaller
   * faces are found (group photos) for 2–4 more BlazeFace runs on images over 384 px.
   * Default true.
   */
  faceTiles?: boolean;
  /** At most this many faces. Default 20. */
  maxFaces?: number;
  /** At most this many poses. Default 4. */
  maxPoses?: number;
  /** Keypoints below this are left out of a pose (and of its box and posture). Default 0.3. */
  minKeypointScore?: number;
  /** Longer side of the working image; larger images are block-averaged down. Default 1280. */
  maxSide?: number;
}

interface Models {
  blazeface: GraphModel | null;
  facemesh: GraphModel | null;
  emotion: GraphModel | null;
  movenet: GraphModel | null;
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

export class TfjsPeopleAnalyser implements PeopleAnalyser {
  readonly id = 'human-people';
  /** Weights: MIT (the package); MoveNet and BlazeFace/FaceMesh are Google's, Apache-2.0. */
  readonly licence = 'MIT AND Apache-2.0';

  private readonly opts: Required<Omit<PeopleAnalyserOptions, 'modelDir'>> & { modelDir: string | undefined };
  private models: Models | null = null;
  private loading: Promise<Models> | null = null;
  private readonly anchors = blazeFaceAnchors(BLAZEFACE_INPUT);

  constructor(options: PeopleAnalyserOptions = {}) {
    this.opts = {
      modelDir: options.modelDir,
      faces: options.faces ?? true,
      expressions: options.expressions ?? true,
      poses: options.poses ?? true,
      minFaceScore: options.minFaceScore ?? 0.55,
      minFacePresence: options.minFacePresence ?? 0.95,
      faceTiles: options.faceTiles ?? true,
      maxFaces: options.maxFaces ?? 20,
      maxPoses: options.maxPoses ?? 4,
      minKeypointScore: options.minKeypointScore ?? 0.3,
      maxSide: options.maxSide ?? 1280,
    };
  }

  /** Absolute paths of the model.json files this configuration needs; throws ModelNotInstalledError. */
  modelFiles(): Partial<Record<keyof Models, string>> {
    const o = this.opts;
    const want: (keyof Models)[] = [];
    if (o.faces) want.push('blazeface', 'facemesh');
    if (o.faces && o.expressions) want.push('emotion');
    if (o.poses) want.push('movenet');
    return Object.fromEntries(want.map((k) => [k, requireModelFile(PEOPLE_MODELS[k], `${this.id}/${k}`, o.modelDir)]));
  }

  load(): Promise<void> {
    return this.loaded().then(() => undefined);
  }

  private loaded(): Promise<Models> {
    if (this.models) return Promise.resolve(this.models);
    this.loading ??= (async () => {
      const files = this.modelFiles();
      const models: Models = { blazeface: null, facemesh: null, emotion: null, movenet: null };
      try {
        for (const key of Object.keys(files) as (keyof Models)[]) models[key] = await loadGraphModelFromFile(files[key]!);
        if (models.facemesh && !models.facemesh.outputNodes.includes(FACEMESH_FLAG))
          throw new Error(`facemesh.json has no ${FACEMESH_FLAG} output (outputs: ${models.facemesh.outputNodes.join(', ')})`);
        await warmUp(models);
      } catch (err) {
        for (const m of Object.values(models)) m?.dispose();
        throw err;
      }
      this.models = models;
      return models;
    })().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  async analyse(img: RgbImage, opts: AnalyseOptions = {}): Promise<PeopleAnalysis> {
    checkImage(img);
    const models = await this.loaded();
    const k = poolFactor(img.width, img.height, this.opts.maxSide);
    const pooled = poolRgb(img, k);
    const frame = frameOf(pooled.width, pooled.height, img.width / k, img.height / k);
    const image = tf.tensor4d(pooled.data, [1, pooled.height, pooled.width, 3], 'float32');
    try {
      const faces = models.blazeface ? await this.findFaces(models, image, frame) : [];
      const poses = models.movenet ? await this.findPoses(models.movenet, image, frame, opts.personBoxes) : [];
      return { faces, poses };
    } finally {
      image.dispose();
    }
  }

  dispose(): void {
    if (this.models) for (const m of Object.values(this.models)) (m as GraphModel | null)?.dispose();
    this.models = null;
  }

  // ---- faces ----------------------------------------------------------------------------

  /** BlazeFace on one square crop: candidate boxes in working pixels. */
  private async blazeFaceIn(model: GraphModel, image: tf.Tensor4D, frame: Frame, crop: SquareCrop): Promise<Candidate[]> {
    const input = tf.tidy(() => {
      const x = tf.image.cropAndResize(image, [cropBox(crop, frame, BLAZEFACE_INPUT)], [0], [BLAZEFACE_INPUT, BLAZEFACE_INPUT]);
      return tf.sub(tf.div(x, 127.5), 1);
    });
    let raw: { shape: number[]; data: Float32Array }[];
    try {
      const out = model.execute(input) as tf.Tensor[];
      try {
        raw = await Promise.all(out.map(async (t) => ({ shape: t.shape, data: (await t.data()) as Float32Array })));
      } finally {
        tf.dispose(out);
      }
    } finally {
      input.dispose();
    }
    const { logits, regressors } = assembleBlazeFaceOutputs(raw);
    return decodeBlazeFace(logits, regressors, this.anchors, this.opts.minFaceScore).map((f) => {
      const [x0, y0] = cropToPixels(f.box[0] / BLAZEFACE_INPUT, f.box[1] / BLAZEFACE_INPUT, crop);
      const [x1, y1] = cropToPixels(f.box[2] / BLAZEFACE_INPUT, f.box[3] / BLAZEFACE_INPUT, crop);
      return { classIndex: 0, score: f.score, box: [x0, y0, x1, y1] as Box };
    });
  }

  private async findFaces(models: Models, image: tf.Tensor4D, frame: Frame): Promise<Face[]> {
    const crops = [wholeImageCrop(frame), ...(this.opts.faceTiles ? faceTiles(frame, BLAZEFACE_INPUT) : [])];
    const candidates: Candidate[] = [];
    for (const crop of crops) candidates.push(...(await this.blazeFaceIn(models.blazeface!, image, frame, crop)));
    const kept = nms(candidates, { iouThreshold: 0.3, maxDetections: this.opts.maxFaces });
    if (kept.length === 0) return [];

    // FaceMesh's face flag on a 1.4× square around each box (what FaceMesh is trained on).
    const presence = await this.cropsThrough(models.facemesh!, image, frame, kept.map((c) => squareAround(c.box, 1.4)), FACEMESH_INPUT, (x) => tf.div(x, 255), FACEMESH_FLAG);
    const faces = kept.filter((_, i) => presence[i]! >= this.opts.minFacePresence);
    if (faces.length === 0) return [];

    let expressions: (Face['expression'] | null)[] = faces.map(() => null);
    if (models.emotion) {
      // Each face is read EXPRESSION_VIEWS.length × 2 times (crop scales, and mirrored) and
      // the probabilities averaged: the model is sensitive to the exact crop.
      const views = faces.flatMap((c) => EXPRESSION_VIEWS.map((scale) => squareAround(c.box, scale)));
      const probs = await this.cropsThrough(models.emotion, image, frame, views, EMOTION_INPUT, (x) => {
        const grey = tf.sum(tf.mul(tf.div(x, 255), tf.tensor1d([...GREY_WEIGHTS])), 3, true);
        const norm = tf.mul(tf.sub(grey, 0.5), 2);
        return tf.concat([norm, tf.reverse(norm, 2)], 0);
      });
      expressions = faces.map((_, i) => expressionFromScores(averageViews(probs, i, EXPRESSION_VIEWS.length, faces.length)));
    }
    return faces.map((c, i) => {
      const face: Face = { box: toNormBox(c.box, frame), score: round4(c.score) };
      const e = expressions[i];
      if (e) face.expression = e;
      return face;
    });
  }

  /** Runs `model` on a batch of square crops; returns the (flattened) output as floats. */
  private async cropsThrough(model: GraphModel, image: tf.Tensor4D, frame: Frame, crops: SquareCrop[], size: number, prepare: (x: tf.Tensor4D) => tf.Tensor, output?: string): Promise<Float32Array> {
    const input = tf.tidy(() =>
      prepare(tf.image.cropAndResize(image, crops.map((c) => cropBox(c, frame, size)), crops.map(() => 0), [size, size])),
    );
    try {
      const out = (output ? model.execute(input, output) : model.execute(input)) as tf.Tensor;
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    } finally {
      input.dispose();
    }
  }

  // ---- poses ----------------------------------------------------------------------------

  private async moveNet(model: GraphModel, image: tf.Tensor4D, frame: Frame, crop: SquareCrop): Promise<PixelKeypoint[]> {
    const raw = await this.cropsThrough(model, image, frame, [crop], MOVENET_INPUT, (x) => tf.cast(x, 'int32'));
    return decodeMoveNet(raw, crop);
  }

  /** MoveNet on `crop`, then on a square around what it found; null when it is no person. */
  private async poseIn(model: GraphModel, image: tf.Tensor4D, search: tf.Tensor4D, frame: Frame, crop: SquareCrop): Promise<PixelKeypoint[] | null> {
    const first = await this.moveNet(model, search, frame, crop);
    const refined = refineCrop(first);
    if (!refined) return null;
    const kps = await this.moveNet(model, image, frame, refined);
    return isPerson(kps) ? kps : null;
  }

  private async findPoses(model: GraphModel, image: tf.Tensor4D, frame: Frame, personBoxes?: NormBox[]): Promise<Pose[]> {
    const found: { kps: PixelKeypoint[]; box: [number, number, number, number] }[] = [];
    const minKp = this.opts.minKeypointScore;
    const add = (kps: PixelKeypoint[]): boolean => {
      const box = poseBoxPixels(kps, minKp);
      if (!box || found.some((p) => iou(p.box, box) > 0.5)) return false;
      found.push({ kps, box });
      return true;
    };

    if (personBoxes && personBoxes.length > 0) {
      const px = personBoxes
        .map((b) => [b[0] * frame.frameWidth, b[1] * frame.frameHeight, b[2] * frame.frameWidth, b[3] * frame.frameHeight] as [number, number, number, number])
        .sort((a, b) => (b[2] - b[0]) * (b[3] - b[1]) - (a[2] - a[0]) * (a[3] - a[1]));
      for (const box of px) {
        if (found.length >= this.opts.maxPoses) break;
        const kps = await this.poseIn(model, image, image, frame, squareAround(box, 1.25, 16));
        if (kps) add(kps);
      }
    } else {
      // Search the whole image; black out each person found and search again.
      let search = image;
      try {
        while (found.length < this.opts.maxPoses) {
          const kps = await this.poseIn(model, image, search, frame, wholeImageCrop(frame));
          if (!kps || !add(kps)) break;
          const masked = blackOut(search, found[found.length - 1]!.box);
          if (search !== image) search.dispose();
          search = masked;
        }
      } finally {
        if (search !== image) search.dispose();
      }
    }

    return found
      .map(({ kps, box }) => {
        const pose: Pose = {
          box: toNormBox(box, frame),
          score: round4(meanScore(kps)),
          keypoints: normaliseKeypoints(kps, minKp, frame),
          posture: classifyPosture(kps, minKp),
        };
        return pose;
      })
      .sort((a, b) => b.score - a.score);
  }
}

/** Crop scales (× the BlazeFace box's longer side) the emotion model reads each face at. */
const EXPRESSION_VIEWS = [1, 1.2] as const;

/**
 * The emotion model's output for face i averaged over its views. The batch holds all
 * faces' views (face-major, `perFace` each), then the same again mirrored.
 */
function averageViews(probs: Float32Array, face: number, perFace: number, faces: number): Float32Array {
  const out = new Float32Array(7);
  const half = faces * perFace;
  for (const base of [0, half])
    for (let v = 0; v < perFace; v++) {
      const row = (base + face * perFace + v) * 7;
      for (let j = 0; j < 7; j++) out[j] = out[j]! + probs[row + j]! / (2 * perFace);
    }
  return out;
}

/** A copy of the image with a box (working pixels) set to black. */
function blackOut(image: tf.Tensor4D, box: readonly [number, number, number, number]): tf.Tensor4D {
  const [, h, w] = image.shape;
  const x0 = Math.max(0, Math.min(w, Math.floor(box[0])));
  const x1 = Math.max(x0, Math.min(w, Math.ceil(box[2])));
  const y0 = Math.max(0, Math.min(h, Math.floor(box[1])));
  const y1 = Math.max(y0, Math.min(h, Math.ceil(box[3])));
  return tf.tidy(() => {
    const hole = tf.zeros([1, y1 - y0, x1 - x0, 1]);
    const mask = tf.pad(hole, [[0, 0], [y0, h - y1], [x0, w - x1], [0, 0]], 1);
    return tf.mul(image, mask) as tf.Tensor4D;
  });
}

/** One inference per model on zeros, so the first image does not pay for kernel setup. */
async function warmUp(models: Models): Promise<void> {
  const run = async (m: GraphModel | null, shape: number[], dtype: 'float32' | 'int32', output?: string) => {
    if (!m) return;
    const x = tf.zeros(shape, dtype);
    try {
      const out = (output ? m.execute(x, output) : m.execute(x)) as tf.Tensor | tf.Tensor[];
      const list = Array.isArray(out) ? out : [out];
      await Promise.all(list.map((t) => t.data()));
      tf.dispose(list);
    } finally {
      x.dispose();
    }
  };
  await run(models.blazeface, [1, BLAZEFACE_INPUT, BLAZEFACE_INPUT, 3], 'float32');
  await run(models.facemesh, [1, FACEMESH_INPUT, FACEMESH_INPUT, 3], 'float32', FACEMESH_FLAG);
  await run(models.emotion, [1, EMOTION_INPUT, EMOTION_INPUT, 1], 'float32');
  await run(models.movenet, [1, MOVENET_INPUT, MOVENET_INPUT, 3], 'int32');
}
