/**
 * Quality measures for the offline engine, pure so the eval script and the floor tests
 * share them: detection precision/recall at IoU 0.5 (PASCAL VOC style, 'difficult'
 * objects ignored), mask IoU, OCR character accuracy, and caption mention recall with
 * hallucinated-object counting.
 */
export type Box = [number, number, number, number];

export interface TruthObject {
  label: string;
  box: Box;
  /** Labels equally right for this object (a pickup is a truck, but 'car' is not wrong). */
  also?: string[];
  /** Tiny, occluded or painted: neither a hit nor a miss. */
  difficult?: boolean;
}

export interface Detected {
  label: string;
  score: number;
  box: Box;
}

export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

export interface MatchResult {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** Detections that matched no object and are not of any label in the image. */
  wrongLabels: string[];
}

const labelsOf = (t: TruthObject) => [t.label, ...(t.also ?? [])];

/** Greedy matching, best score first, one detection per object. */
export function matchDetections(detections: Detected[], truth: TruthObject[], threshold = 0.5): MatchResult {
  const used = new Set<number>();
  let tp = 0;
  let fp = 0;
  const wrongLabels: string[] = [];
  for (const d of [...detections].sort((a, b) => b.score - a.score)) {
    let best = -1;
    let bestIou = threshold;
    truth.forEach((t, i) => {
      if (used.has(i) || !labelsOf(t).includes(d.label)) return;
      const v = iou(d.box, t.box);
      if (v >= bestIou) {
        best = i;
        bestIou = v;
      }
    });
    if (best >= 0) {
      used.add(best);
      if (!truth[best]!.difficult) tp++;
    } else {
      fp++;
      if (!truth.some((t) => labelsOf(t).includes(d.label))) wrongLabels.push(d.label);
    }
  }
  const fn = truth.filter((t, i) => !t.difficult && !used.has(i)).length;
  return { truePositives: tp, falsePositives: fp, falseNegatives: fn, wrongLabels };
}

export const precision = (m: Pick<MatchResult, 'truePositives' | 'falsePositives'>) =>
  m.truePositives + m.falsePositives === 0 ? 1 : m.truePositives / (m.truePositives + m.falsePositives);
export const recall = (m: Pick<MatchResult, 'truePositives' | 'falseNegatives'>) =>
  m.truePositives + m.falseNegatives === 0 ? 1 : m.truePositives / (m.truePositives + m.falseNegatives);

/** IoU of two binary masks of the same size (non-zero = foreground). */
export function maskIou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! > 0;
    const y = b[i]! > 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

export function levenshtein(a: string, b: string): number {
  const A = [...a];
  const B = [...b];
  let prev = Array.from({ length: B.length + 1 }, (_, j) => j);
  for (let i = 1; i <= A.length; i++) {
    const cur = [i];
    for (let j = 1; j <= B.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (A[i - 1] === B[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[B.length]!;
}

/** 1 − edit distance / reference length, on whitespace-normalised text. */
export function characterAccuracy(read: string, reference: string): number {
  const norm = (s: string) => s.replace(/\s+/g, ' ').trim();
  const ref = norm(reference);
  return ref.length === 0 ? 1 : Math.max(0, 1 - levenshtein(norm(read), ref) / [...ref].length);
}

/**
 * Which object classes a caption names. `names` maps each class to the words that name
 * it in the caption's language (singular and plural).
 */
export function mentionedClasses(caption: string, names: Record<string, string[]>): string[] {
  const text = caption.toLowerCase();
  return Object.entries(names)
    .filter(([, words]) => words.some((w) => new RegExp(`(^|[^a-z])${w.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^a-z])`).test(text)))
    .map(([cls]) => cls);
}
