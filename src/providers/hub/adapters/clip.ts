/**
 * CLIP / SigLIP zero-shot image classification: scores of the router's candidate labels for
 * each image. CLIP's scores are a softmax over the labels (they sum to 1); SigLIP's are
 * independent sigmoids (each 0..1), which is what transformers.js's pipeline returns for each.
 */
import type { LabelScore } from '../../../seam/provider.js';
import { sessionOptions, toRawImage, type AdapterRuntime, type RuntimeImage, type RuntimeLoader } from './types.js';

/** Trimmed, non-empty, first spelling of each label kept (case-insensitive). */
export function normaliseLabels(labels: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const l of labels) {
    const t = l.trim().replace(/\s+/g, ' ');
    const k = t.toLowerCase();
    if (!t || seen.has(k)) continue;
    seen.add(k);
    out.push(t);
  }
  return out;
}

/**
 * The sentence each label is put in. CLIP and SigLIP were trained on captions, so "a photo
 * of a cat." scores better than the bare word; a label that is already a sentence is kept.
 */
export function hypothesisTemplate(labels: readonly string[]): string {
  return labels.some((l) => l.split(' ').length > 4) ? '{}' : 'a photo of {}.';
}

/** Pipeline output → the router's shape, best first, scores rounded to 4 places. */
export function rankScores(raw: ReadonlyArray<{ label: string; score: number }>): LabelScore[] {
  return [...raw].sort((a, b) => b.score - a.score).map((r) => ({ label: r.label, score: Math.round(r.score * 1e4) / 1e4 }));
}

export interface ClassifyArgs {
  image: RuntimeImage;
  labels: string[];
}

export const loadClip: RuntimeLoader = async (tf, opts) => {
  const classifier = await tf.pipeline('zero-shot-image-classification', opts.modelId, {
    dtype: opts.dtype as never,
    device: 'cpu',
    session_options: sessionOptions(opts),
  });
  const runtime: AdapterRuntime = {
    async call(method, args): Promise<LabelScore[]> {
      if (method !== 'classify') throw new Error(`clip has no method ${method}`);
      const a = args as ClassifyArgs;
      const out = (await classifier(toRawImage(tf, a.image) as never, a.labels, { hypothesis_template: hypothesisTemplate(a.labels) })) as unknown as Array<{
        label: string;
        score: number;
      }>;
      return rankScores(out);
    },
    async dispose() {
      await classifier.dispose();
    },
  };
  return runtime;
};
