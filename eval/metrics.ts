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

// ---- the labelled set (eval/labels.json) ---------------------------------------------------

/** Classes a detector reported that are nowhere in the photo (no object has it as label or 'also'). */
export function hallucinatedLabels(detected: Array<{ label: string }>, truth: TruthObject[]): string[] {
  const present = new Set(truth.flatMap(labelsOf));
  return [...new Set(detected.map((d) => d.label).filter((l) => !present.has(l)))];
}

export type Expected = 'yes' | 'no' | 'unsure';
export type Said = 'yes' | 'no' | 'hedge' | 'other';

/*
 * How an answer begins. Gemini answers a yes/no question with "Yes"/"No" first; a question
 * about something the offline models cannot see deserves an honest "cannot tell", not a
 * guess either way, so a hedge counts only when the answer does not also open with Yes/No.
 */
const YES = /^\s*(?:yes\b|是|有|对|對)/i;
const NO = /^\s*(?:no\b|不|没|沒|否|无(?!法)|無(?!法))/i;
const HEDGE =
  /can(?:not|'t|’t) (?:tell|say|see|answer|determine|recogni[sz]e|identify|know|judge)|not (?:able|sure)|unable to|(?:don't|do not|doesn't|does not) (?:know|recogni[sz]e)|no way to tell|outside (?:what|the)|无法|無法|不能(?:确定|確定|判断|判斷|识别|識別)|不(?:确定|確定)|看不出|无从|無從/i;

export function said(answer: string): Said {
  if (YES.test(answer)) return 'yes';
  if (NO.test(answer)) return 'no';
  if (HEDGE.test(answer)) return 'hedge';
  return 'other';
}

/** Right when the answer starts with the expected Yes/No, or (for 'unsure') says it cannot tell. */
export function answeredRight(answer: string, expected: Expected): boolean {
  const s = said(answer);
  return expected === 'unsure' ? s === 'hedge' : s === expected;
}

const NUMBER_WORDS: Record<string, number> = {
  no: 0, none: 0, zero: 0, one: 1, a: 1, an: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19, twenty: 20,
};

/** The first count an English answer states ("I see 3 people", "There are two people", "None"), or null. */
export function statedCount(answer: string): number | null {
  const m = /\b(\d+|an?|no|none|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)\b/i.exec(answer);
  if (!m) return null;
  const w = m[1]!.toLowerCase();
  return /^\d+$/.test(w) ? Number(w) : (NUMBER_WORDS[w] ?? null);
}

/** Extra words that name a subject as well as the class name does. */
const SYNONYMS: Record<string, string[]> = {
  person: ['people', 'man', 'men', 'woman', 'women', 'boy', 'girl', 'child', 'children', 'player', 'players', 'face', 'faces'],
  'sports ball': ['ball', 'balls', 'football', 'soccer ball'],
  'potted plant': ['plant', 'plants', 'houseplant'],
  text: ['text', 'page', 'writing', 'words', 'document'],
  page: ['page', 'document', 'text'],
  sign: ['sign', 'signs', 'text'],
  fruit: ['fruit', 'fruits', 'orange', 'oranges', 'apple', 'apples', 'banana', 'bananas'],
  hand: ['hand', 'person'],
};

/**
 * Whether a caption names one of the subject words: a class name (singular or plural, from
 * `names`) or one of its synonyms.
 */
export function namesSubject(caption: string, subject: string[], names: Record<string, string[]>): boolean {
  const text = caption.toLowerCase();
  const words = subject.flatMap((s) => [s, ...(names[s] ?? []), ...(SYNONYMS[s] ?? [])]);
  return words.some((w) => new RegExp(`(^|[^a-z])${w.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^a-z])`).test(text));
}

/**
 * Whether text read from a page starts with its first line, from the first character:
 * whitespace is normalised (and dropped for Chinese, written without spaces) and quotes
 * or a leading "The text reads:" style preamble are allowed before it.
 */
export function readsFirstLine(read: string, firstLine: string): boolean {
  const han = /\p{Script=Han}/u.test(firstLine);
  const norm = (s: string) => (han ? s.replace(/\s+/g, '') : s.replace(/\s+/g, ' ').trim());
  const r = norm(read);
  const line = norm(firstLine);
  const at = r.indexOf(line);
  if (at < 0) return false;
  // Whatever precedes the line must not be the tail of a word of it (a lost first letter
  // reads "egion-based", which does not contain the line at all); a preamble must end in
  // a colon, quote, newline-turned-space or fence.
  const before = r.slice(0, at);
  return before === '' || /[:"'“”「『`\s]$/.test(before);
}
