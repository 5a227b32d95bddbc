/**
 * Builds the model-backed capabilities from a selection: the configured detector, SAM
 * for masks, and the text readers. Models load once per thread; `warm` runs each on a
 * small image so the first request does not pay for graph compilation.
 */
import type { VisionModels } from './analyser.js';
import type { MaskHelp, NormBox, ObjectMask, RawImage } from './analysis.js';
import { createDetector, type DetectOptions, type DetectStageTimes } from './detect/index.js';
import { lookAgainWith } from './detect/closer-look.js';
import { followUp, helpFollowUp, type FollowUpSteps } from './detect/follow-up.js';
import { CropVerifier } from './detect/verify-crop.js';
import { helpWith, workTogether, type WorkShare } from './shared-work.js';
import type { ModelSelection } from './model-selection.js';
import { PaddleReader, readText, TesseractReader } from './ocr/index.js';
import { encodeMaskPng } from './segment/mask-png.js';
import { shareEmbedding } from './segment/embedding-cache.js';
import { SamSegmenter, type SamEmbedding } from './segment/sam.js';
import { NsfwClassifier } from './safety/nsfw.js';
import { createPeopleAnalyser } from './people/index.js';
import { rateImage } from './safety/index.js';

export interface LoadedVisionModels extends VisionModels {
  warm(): Promise<void>;
  dispose(): Promise<void>;
}

/** A private copy of an embedding held in shared memory. */
const unshared = (e: SamEmbedding): SamEmbedding => ({ data: Float32Array.from(e.data), dims: e.dims, geometry: e.geometry });

export function loadVisionModels(selection: ModelSelection): LoadedVisionModels {
  const threads = selection.intraOpThreads ?? 1;
  const detector = selection.detector
    ? createDetector(selection.detector, { intraOpThreads: threads, ...(selection.detectorRuntime ? { runtime: selection.detectorRuntime } : {}) })
    : undefined;
  const verifier = detector && selection.verifyLabels ? new CropVerifier({ intraOpThreads: threads }) : undefined;
  let followed: { verifyMs: number; closerMs: number; fromHelper: number } | undefined;
  let detectTimes: DetectStageTimes | undefined;
  const lookAgain = detector && selection.closerLook !== false ? lookAgainWith(detector) : undefined;
  const steps: FollowUpSteps | undefined = detector
    ? { ...(verifier ? { verifier } : {}), ...(lookAgain ? { look: lookAgain } : {}), threshold: detector.defaultMinScore }
    : undefined;
  const sam = selection.segment ? new SamSegmenter({ intraOpNumThreads: threads, ...(selection.wideEncoderThreads ? { wideEncoderThreads: selection.wideEncoderThreads } : {}) }) : undefined;
  const tesseract = selection.ocrLatin ? new TesseractReader() : undefined;
  const paddle = selection.ocrCjk ? new PaddleReader() : undefined;
  const nsfw = selection.safety ? new NsfwClassifier({ intraOpThreads: threads }) : undefined;
  const people = selection.people ? createPeopleAnalyser() : undefined;
  // Each model loads on first use (so a server that never segments never loads SAM);
  // warm() loads them all up front for servers that want to be ready before traffic.
  const once = <T>(f: () => Promise<T>) => {
    let p: Promise<T> | undefined;
    return () => (p ??= f());
  };
  const loadSam = once(async () => sam?.load());
  /** One box's mask, as a PNG the answer carries. */
  const maskOf = async (embedding: SamEmbedding, { box, label }: { box: NormBox; label: string }): Promise<ObjectMask> => {
    const m = await sam!.maskForBox(embedding, box);
    return { label, box: m.box, png: await encodeMaskPng(m), score: m.score };
  };
  const loadOcr = once(async () => {
    await Promise.all([tesseract?.load(), paddle?.load()]);
  });

  const caps: LoadedVisionModels = {
    // `threshold`: the score the engine asserts a label from; below it answers say "possibly".
    ...(detector
      ? {
          detect: {
            async detect(img, opts, shares) {
              const found = await detector.detect(img, opts, shares?.lend);
              // Copied now: a closer look runs the detector again, which resets its times.
              detectTimes = detector.lastTimes ? { ...detector.lastTimes } : undefined;
              // The label check asks whether each box is any of the classes proposed for it (an
              // ImageNet model can tell a squirrel from every COCO class), the closer look which
              // one (a zoomed detector tells horse from sheep; the classifier cannot). Independent,
              // so another worker may run some of them (detect/follow-up.ts).
              const done = await followUp(img, found, steps!, shares?.followUp);
              followed = done;
              return done.detections;
            },
            helpFollowUp: (img, help, share) => helpFollowUp(img, help, share, steps!),
            threshold: detector.defaultMinScore,
            lastTimes: () =>
              detectTimes
                ? {
                    ...detectTimes,
                    closer: followed?.closerMs ?? 0,
                    ...(verifier ? { verify: followed?.verifyMs ?? 0 } : {}),
                    ...(followed?.fromHelper ? { helped: followed.fromHelper } : {}),
                  }
                : undefined,
            ...(detector.lendableCandidates ? { lend: async (img: RawImage, opts: DetectOptions, share: WorkShare) => (await helpWith(share, 1, () => detector.lendableCandidates!(img, opts))) > 0 } : {}),
          },
        }
      : {}),
    ...(sam
      ? {
          segment: {
            async masks(img, boxes, times, { reuse, share, wide } = {}) {
              await loadSam();
              let t = performance.now();
              let embedding: SamEmbedding;
              let shared: SamEmbedding | undefined;
              if (reuse?.cached) {
                // onnxruntime-node refuses tensors over shared memory: one 4 MiB copy per request.
                embedding = unshared(reuse.cached);
                shared = reuse.cached;
              } else {
                embedding = await sam.encode(img, { wide: wide === true });
                times.samEncode = performance.now() - t;
                // Shared memory, so the pool can keep it and lend it to any worker uncopied.
                if (reuse || share) shared = shareEmbedding(embedding);
                if (reuse) reuse.computed = shared;
              }
              t = performance.now();
              let masks: ObjectMask[] = [];
              let fromHelper = 0;
              if (share && boxes.length > 1) {
                // The pool queues a helper on the other worker; whoever is free takes the next box.
                share.ready.postMessage({ embedding: shared!, boxes } satisfies MaskHelp);
                share.ready.close();
                ({ results: masks, fromHelper } = await workTogether(share.work, boxes.length, (i) => maskOf(embedding, boxes[i]!)));
              } else {
                for (const b of boxes) masks.push(await maskOf(embedding, b));
              }
              times.samDecode = performance.now() - t;
              return { masks, fromHelper, ...(times.samEncode !== undefined ? { encoderThreads: sam.encoderThreads(wide === true) } : {}) };
            },
            async helpMasks(help, share) {
              await loadSam();
              const embedding = unshared(help.embedding);
              return helpWith(share, help.boxes.length, (i) => maskOf(embedding, help.boxes[i]!));
            },
          },
        }
      : {}),
    ...(tesseract || paddle
      ? {
          ocr: {
            read: async (img: RawImage, prompt: string) =>
              (await loadOcr(), await readText(img, { ...(tesseract ? { tesseract } : {}), ...(paddle ? { paddle } : {}) }, { prompt })).lines,
          },
        }
      : {}),
    ...(people
      ? {
          people: {
            async analyse(img: RawImage, personBoxes: Array<[number, number, number, number]>) {
              const r = await people.analyse(img, { personBoxes });
              return {
                faces: r.faces.map((f) => ({ box: f.box, score: f.score, ...(f.expression ? { expression: f.expression } : {}) })),
                poses: r.poses.map((p) => ({ box: p.box, score: p.score, ...(p.posture ? { posture: p.posture } : {}) })),
              };
            },
          },
        }
      : {}),
    ...(nsfw ? { safety: { rate: async (img: RawImage) => (await rateImage(nsfw, img)).ratings } } : {}),
    async warm() {
      await Promise.all([detector?.load(), verifier?.load(), loadSam(), loadOcr(), nsfw?.load(), people?.load()]);
      const blank: RawImage = { width: 64, height: 64, rgb: new Uint8Array(64 * 64 * 3).fill(128) };
      await detector?.detect(blank);
      await verifier?.classify([new Uint8Array(verifier.inputSize * verifier.inputSize * 3).fill(128)]);
      if (sam) await sam.maskForBox(await sam.encode(blank), [0.25, 0.25, 0.75, 0.75]);
    },
    async dispose() {
      detector?.dispose();
      verifier?.dispose();
      nsfw?.dispose();
      people?.dispose();
      await Promise.all([sam?.dispose(), tesseract?.dispose(), paddle?.dispose()]);
    },
  };
  return caps;
}
