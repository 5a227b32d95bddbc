/**
 * The offline engine measured on the hand-labelled real photos of eval/labels.json, asked
 * over HTTP exactly as a user would (the real server, `createServer`, default settings
 * unless a detector is named): detection recall/precision at IoU 0.5 and hallucinated
 * labels, yes/no accuracy, counts against the labels and against the detection answer,
 * captions naming the subject, and the first line of text pages and signs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { knownLabels, labelName } from '../src/engine/compose/labels.js';
import { isDetectorId, missingDetectorWeights } from '../src/vision/detect/index.js';
import { evalPhotoPath } from '../test/support/fixtures.js';
import { startServer, type RunningServer } from '../test/support/server.js';
import {
  answeredRight,
  hallucinatedLabels,
  matchDetections,
  mentionedClasses,
  namesSubject,
  precision,
  readsFirstLine,
  recall,
  said,
  statedCount,
  type Box,
  type Expected,
  type TruthObject,
} from './metrics.js';

export interface LabelledPhoto {
  source: { package: string; path: string };
  tags?: string[];
  subject?: string[];
  objects: TruthObject[];
  counts?: Array<{ label: string; n?: number; range?: [number, number] }>;
  questions: Array<{ q: string; a: Expected }>;
  text?: { firstLine: string; lang: 'en' | 'zh'; kind: 'page' | 'sign' };
}

export interface Labels {
  photos: Record<string, LabelledPhoto>;
}

export const loadLabels = (): Labels =>
  JSON.parse(readFileSync(new URL('./labels.json', import.meta.url), 'utf8')) as Labels;

export const photoFile = (name: string, photo: LabelledPhoto): string => evalPhotoPath(name, photo.source.package);

export interface QuestionResult {
  photo: string;
  q: string;
  expected: Expected;
  answer: string;
  right: boolean;
}

export interface CountResult {
  photo: string;
  label: string;
  q: string;
  answer: string;
  stated: number | null;
  /** Within the label's n or range. */
  matchesLabel: boolean;
  /** How many boxes of that class the detection answer gave for the same photo. */
  detected: number;
  matchesDetection: boolean;
}

export interface TextResult {
  photo: string;
  firstLine: string;
  read: string;
  fromFirstCharacter: boolean;
}

export interface PhotoDetection {
  photo: string;
  tp: number;
  fp: number;
  fn: number;
  hallucinated: string[];
  missed: string[];
  caption?: string;
  subjectNamed?: boolean;
  captionHallucinated?: string[];
  /** Answers that were blocked (finishReason SAFETY) or empty. */
  blocked: number;
}

export interface LabelledResult {
  detector: string;
  photos: number;
  seconds: number;
  detection: { tp: number; fp: number; fn: number; precision: number; recall: number; hallucinated: number };
  perPhoto: PhotoDetection[];
  questions: { right: number; total: number; accuracy: number; byExpected: Record<Expected, { right: number; total: number }>; list: QuestionResult[] };
  counts: { total: number; matchLabel: number; matchDetection: number; list: CountResult[] };
  captions: { withSubject: number; named: number; hallucinated: number };
  text: { total: number; fromFirstCharacter: number; list: TextResult[] };
  /** Requests answered with finishReason SAFETY or without text, on benign photos. */
  blocked: number;
  /** Wall time of the answers by kind of request, ms (p50 and total). */
  timings: Record<string, { n: number; p50: number; total: number }>;
}

export interface LabelledOptions {
  /** A detector id the server accepts (`--detector`); default: the server's own default. */
  detector?: string;
  /** Only these photos (names in labels.json). */
  only?: string[];
  /** Ask the questions, counts, captions and text too (default true); false: detection only. */
  answers?: boolean;
  /** Photos asked about at the same time, and the server's model threads (default 2). */
  concurrency?: number;
  log?: (line: string) => void;
}

const MIME: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png' };

interface Answer {
  text: string;
  blocked: boolean;
  ms: number;
}

async function ask(baseUrl: string, image: { data: string; mimeType: string }, prompt: string, json = false): Promise<Answer> {
  const body = {
    contents: [{ role: 'user', parts: [{ inlineData: image }, { text: prompt }] }],
    ...(json ? { generationConfig: { responseMimeType: 'application/json' } } : {}),
  };
  const t0 = performance.now();
  let res: Response;
  for (let attempt = 1; ; attempt++) {
    res = await fetch(`${baseUrl}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    // 503: the model threads stayed busy past the server's queue timeout (a loaded machine);
    // the server says to try again, and an eval must measure answers, not the load.
    if (res.status !== 503 || attempt === 5) break;
    await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, 1000 * attempt));
  }
  const out = (await res.json()) as {
    candidates?: Array<{ finishReason?: string; content?: { parts?: Array<{ text?: string }> } }>;
    error?: { message: string };
  };
  if (!res.ok) throw new Error(`${prompt}: HTTP ${res.status} ${out.error?.message ?? ''}`);
  const c = out.candidates?.[0];
  const text = (c?.content?.parts ?? []).map((p) => p.text ?? '').join('');
  return { text, blocked: c?.finishReason === 'SAFETY' || text === '', ms: performance.now() - t0 };
}

/** COCO class of an answer's label ("dogs", "Dog", "possibly a cat" → dog / cat), or the label itself. */
function classOf(label: string, names: Record<string, string[]>): string {
  const l = label.toLowerCase().replace(/^(?:possibly|probably|maybe)\s+(?:an?\s+)?/, '').trim();
  for (const [cls, words] of Object.entries(names)) if (words.includes(l)) return cls;
  return l;
}

/** The boxes of a `box_2d` JSON answer ([ymin, xmin, ymax, xmax] in 0–1000) as normalised [x0, y0, x1, y1]. */
export function parseDetectionAnswer(text: string, names: Record<string, string[]>): Array<{ label: string; score: number; box: Box }> {
  const start = text.indexOf('[');
  const end = text.lastIndexOf(']');
  if (start < 0 || end < start) return [];
  let items: unknown;
  try {
    items = JSON.parse(text.slice(start, end + 1));
  } catch {
    return [];
  }
  if (!Array.isArray(items)) return [];
  // The answer lists objects best first; a falling pseudo-score keeps that order in the matching.
  return items
    .filter((i): i is { box_2d: number[]; label: string } => typeof i === 'object' && i !== null && Array.isArray((i as { box_2d?: unknown }).box_2d))
    .map((i, k) => {
      const [y0, x0, y1, x1] = i.box_2d.map((v) => v / 1000) as [number, number, number, number];
      return { label: classOf(String(i.label ?? ''), names), score: 1 - k / 1000, box: [x0, y0, x1, y1] as Box };
    });
}

const countPrompt = (label: string) => `How many ${labelName(label, 'en', 2)} are there in this image?`;
const readPrompt = (lang: 'en' | 'zh') => (lang === 'zh' ? '读出图片中的文字。' : 'Read the text in this image.');

export async function evaluateLabelled(opts: LabelledOptions = {}): Promise<LabelledResult> {
  const log = opts.log ?? (() => {});
  const labels = loadLabels();
  const names = Object.fromEntries(knownLabels().map((l) => [l, [labelName(l, 'en', 1), labelName(l, 'en', 2)]]));
  const started = performance.now();
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  // The CLI checks this before it starts a server (src/cli/preflight.ts); this in-process server
  // would only fail at the first request, as a 500. Say what to run instead.
  const missing = opts.detector && isDetectorId(opts.detector) ? missingDetectorWeights(opts.detector) : null;
  if (missing) throw missing;
  const server: RunningServer = await startServer({
    flags: { visionThreads: concurrency, ...(opts.detector ? { detector: opts.detector } : {}) },
  });
  const detector = opts.detector ?? 'default';
  const perPhoto: PhotoDetection[] = [];
  const questions: QuestionResult[] = [];
  const counts: CountResult[] = [];
  const texts: TextResult[] = [];
  const times: Record<string, number[]> = {};
  const timed = async (kind: string, p: Promise<Answer>): Promise<Answer> => {
    const a = await p;
    (times[kind] ??= []).push(a.ms);
    return a;
  };
  try {
    const todo = Object.entries(labels.photos).filter(([name]) => !opts.only || opts.only.includes(name));
    const order = new Map(todo.map(([name], i) => [name, i]));
    const one = async ([name, photo]: [string, LabelledPhoto]): Promise<void> => {
      const file = photoFile(name, photo);
      const image = { data: readFileSync(file).toString('base64'), mimeType: MIME[path.extname(name).toLowerCase()] ?? 'image/jpeg' };
      let blocked = 0;
      const detAnswer = await timed('detect', ask(server.baseUrl, image, 'Detect all of the prominent items in the image.', true));
      if (detAnswer.blocked) blocked++;
      const dets = parseDetectionAnswer(detAnswer.text, names);
      const m = matchDetections(dets, photo.objects);
      const missed = photo.objects
        .filter((t) => !t.difficult)
        .filter((t) => !dets.some((d) => [t.label, ...(t.also ?? [])].includes(d.label)))
        .map((t) => t.label);
      const row: PhotoDetection = {
        photo: name,
        tp: m.truePositives,
        fp: m.falsePositives,
        fn: m.falseNegatives,
        hallucinated: hallucinatedLabels(dets, photo.objects),
        missed: [...new Set(missed)],
        blocked: 0,
      };
      if (opts.answers ?? true) {
        const cap = await timed('caption', ask(server.baseUrl, image, 'Caption this image.'));
        if (cap.blocked) blocked++;
        const allowed = new Set(photo.objects.flatMap((t) => [t.label, ...(t.also ?? [])]));
        row.caption = cap.text;
        // The "cannot recognise any of the 80 kinds (people, animals, …)" phrase names examples, not findings.
        row.captionHallucinated = mentionedClasses(cap.text.replace(/\([^)]*\)/g, ''), names).filter((c) => !allowed.has(c));
        if (photo.subject) row.subjectNamed = namesSubject(cap.text, photo.subject, names);
        for (const { q, a } of photo.questions) {
          const ans = await timed('yes/no', ask(server.baseUrl, image, q));
          if (ans.blocked) blocked++;
          questions.push({ photo: name, q, expected: a, answer: ans.text, right: !ans.blocked && answeredRight(ans.text, a) });
        }
        for (const c of photo.counts ?? []) {
          const q = countPrompt(c.label);
          const ans = await timed('count', ask(server.baseUrl, image, q));
          if (ans.blocked) blocked++;
          const stated = statedCount(ans.text);
          const [lo, hi] = c.range ?? [c.n ?? 0, c.n ?? 0];
          const detected = dets.filter((d) => d.label === c.label).length;
          counts.push({
            photo: name,
            label: c.label,
            q,
            answer: ans.text,
            stated,
            matchesLabel: stated !== null && stated >= lo && stated <= hi,
            detected,
            matchesDetection: stated === detected,
          });
        }
        if (photo.text) {
          const ans = await timed('read text', ask(server.baseUrl, image, readPrompt(photo.text.lang)));
          if (ans.blocked) blocked++;
          texts.push({ photo: name, firstLine: photo.text.firstLine, read: ans.text, fromFirstCharacter: !ans.blocked && readsFirstLine(ans.text, photo.text.firstLine) });
        }
      }
      row.blocked = blocked;
      perPhoto.push(row);
      const wrong = questions.filter((x) => x.photo === name && !x.right).length;
      log(
        `${detector} ${name}: tp ${row.tp} fp ${row.fp} fn ${row.fn}${row.hallucinated.length ? ` hallucinated ${row.hallucinated.join(',')}` : ''}` +
          `${opts.answers ?? true ? ` | questions wrong ${wrong} | ${row.caption}` : ''}`,
      );
    };
    // Photos in parallel, as many as the server has model threads: each request waits on
    // the models, so this is what keeps the eval within minutes on 2 cores.
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < todo.length) await one(todo[next++]!);
      }),
    );
    const byOrder = <T extends { photo: string }>(xs: T[]) => xs.sort((a, b) => order.get(a.photo)! - order.get(b.photo)!);
    byOrder(perPhoto);
    byOrder(questions);
    byOrder(counts);
    byOrder(texts);
  } finally {
    await server.stop();
  }
  const sum = (k: 'tp' | 'fp' | 'fn') => perPhoto.reduce((s, p) => s + p[k], 0);
  const totals = { truePositives: sum('tp'), falsePositives: sum('fp'), falseNegatives: sum('fn') };
  const byExpected = { yes: { right: 0, total: 0 }, no: { right: 0, total: 0 }, unsure: { right: 0, total: 0 } } as Record<Expected, { right: number; total: number }>;
  for (const q of questions) {
    byExpected[q.expected].total++;
    if (q.right) byExpected[q.expected].right++;
  }
  const right = questions.filter((q) => q.right).length;
  const withSubject = perPhoto.filter((p) => p.subjectNamed !== undefined);
  return {
    detector,
    photos: perPhoto.length,
    seconds: (performance.now() - started) / 1000,
    detection: {
      tp: totals.truePositives,
      fp: totals.falsePositives,
      fn: totals.falseNegatives,
      precision: precision(totals),
      recall: recall(totals),
      hallucinated: perPhoto.reduce((s, p) => s + p.hallucinated.length, 0),
    },
    perPhoto,
    questions: { right, total: questions.length, accuracy: questions.length ? right / questions.length : 1, byExpected, list: questions },
    counts: {
      total: counts.length,
      matchLabel: counts.filter((c) => c.matchesLabel).length,
      matchDetection: counts.filter((c) => c.matchesDetection).length,
      list: counts,
    },
    captions: {
      withSubject: withSubject.length,
      named: withSubject.filter((p) => p.subjectNamed).length,
      hallucinated: perPhoto.reduce((s, p) => s + (p.captionHallucinated?.length ?? 0), 0),
    },
    text: { total: texts.length, fromFirstCharacter: texts.filter((t) => t.fromFirstCharacter).length, list: texts },
    blocked: perPhoto.reduce((s, p) => s + p.blocked, 0),
    timings: Object.fromEntries(
      Object.entries(times).map(([k, v]) => {
        const sorted = [...v].sort((a, b) => a - b);
        return [k, { n: v.length, p50: sorted[Math.floor((sorted.length - 1) / 2)]!, total: v.reduce((a, b) => a + b, 0) }];
      }),
    ),
  };
}

export { said };
