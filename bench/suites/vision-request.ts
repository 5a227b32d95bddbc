/**
 * Where the time of one detection request goes (issue 12, c=1), for the vision suite:
 * - each stage the request runs, timed alone in the bench process on the same photo:
 *   parsing the body, decoding, the safety rater's copy, colours, the hand-off to a worker
 *   thread, the detector and the safety rating (with their own splits), composing;
 * - the bare inference of everything the request runs, two ways: one after another on
 *   one thread (the CPU work of a request), and as the server lays it out (decode, then
 *   the detector and the safety rating at once on two model threads, the detector's label check
 *   and closer looks shared between them; bench/lib/model-thread.ts);
 *   the ≤ ×1.15 target is checked against the second, the stricter one;
 * - through a server logging at debug level: what its worker threads say each task took,
 *   so the server's side of a request splits into model time and everything else.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { composeAnswer } from '../../src/engine/compose/answer.js';
import { POSSIBLE_FRACTION } from '../../src/engine/compose/confidence.js';
import { renderAnswer } from '../../src/engine/compose/render.js';
import { OfflineVision, SAFETY_SIDE } from '../../src/engine/offline/vision.js';
import { shrink } from '../../src/engine/offline/shrink.js';
import { measurePixels } from '../../src/engine/measure.js';
import { planTasks } from '../../src/engine/planner.js';
import { decodeImage, type DecodedImage } from '../../src/media/decode.js';
import { analyseImage } from '../../src/vision/analyser.js';
import type { AnalysisNeeds, DetectStages } from '../../src/vision/analysis.js';
import { vocabulary } from '../../src/vision/detect/coco.js';
import { DEFAULT_DETECTOR } from '../../src/vision/detect/index.js';
import { answerOffer, openOffer, openShare } from '../../src/vision/shared-work.js';
import type { FollowUpHelp } from '../../src/vision/detect/follow-up.js';
import { loadVisionModels } from '../../src/vision/load-models.js';
import type { ModelSelection } from '../../src/vision/model-selection.js';
import { VisionPool } from '../../src/vision/pool.js';
import { mirrored, NSFW_INPUT_SIZE } from '../../src/vision/safety/nsfw.js';
import { toModelInput } from '../../src/vision/safety/preprocess.js';
import { parseLenientJson } from '../../src/wire/lenient-json.js';
import { buildRequest, requestOnce } from '../lib/http-load.js';
import { uniqueJpeg } from '../lib/unique-jpeg.js';
import { ModelThread } from '../lib/model-thread.js';
import type { Table } from '../lib/report.js';
import type { OcellusChild } from '../lib/servers.js';
import { median, ms, quantile, sorted } from '../lib/stats.js';

/** What the engine asks of the detector for every task (src/engine/offline/vision.ts, needsOf). */
export const DETECT_NEEDS: AnalysisNeeds = { detect: { belowThreshold: POSSIBLE_FRACTION } };
export const DETECT_PROMPT = 'Detect all of the prominent items in the image.';

const NO_MODELS: ModelSelection = { detector: null, segment: false, ocrLatin: false, ocrCjk: false, safety: false, people: false };

const p50 = (xs: number[]) => median(sorted(xs));

export async function timeRuns(n: number, f: (i: number) => Promise<unknown> | unknown): Promise<number[]> {
  await f(-1); // warm
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f(i);
    out.push(performance.now() - t);
  }
  return out;
}

export function generateBody(image: Buffer, prompt: string, config?: unknown): string {
  return JSON.stringify({
    contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/jpeg', data: image.toString('base64') } }, { text: prompt }] }],
    ...(config ? { generationConfig: config } : {}),
  });
}

export interface Bare {
  /** Decode + detector + safety copy + safety rating, one after another in the bench thread. */
  sequential: number[];
  /** Decode, then detector ‖ (safety copy + rating) on two model threads, as the server does. */
  parallel: number[];
  /** The same two-thread layout on an image already decoded (what a repeated photo costs: the server's decode cache hits). */
  parallelDecoded: number[];
}

export interface RequestStages {
  table: Table;
  bare: Bare;
}

/**
 * The bare inference of a detection request laid out as the server lays it out, on two plain
 * threads: the request's task runs CenterNet, the other thread SSD's lent part beside the safety
 * copy and rating; then the two share the label check and the closer looks (src/vision/detect/follow-up.ts). Kept open so the suite can also time it interleaved
 * with the server's requests (a host whose speed drifts then weighs on both alike).
 */
export async function openBareLayout(threads: number): Promise<{ run: (decoded: DecodedImage) => Promise<unknown>; close: () => Promise<void> }> {
  const detectThread = new ModelThread({ ...NO_MODELS, detector: DEFAULT_DETECTOR, intraOpThreads: threads, verifyLabels: true });
  // The second thread holds the detector and the label check too: it runs the fused detector's lent SSD part and its share of
  // the label check and closer looks, as the pool's second worker does.
  const safetyThread = new ModelThread({ ...NO_MODELS, detector: DEFAULT_DETECTOR, verifyLabels: true, safety: true, intraOpThreads: threads });
  const close = () => Promise.all([detectThread.close(), safetyThread.close()]).then(() => undefined);
  try {
    await Promise.all([detectThread.warm(), safetyThread.warm()]);
  } catch (err) {
    await close();
    throw err;
  }
  const run = (decoded: DecodedImage) => {
    const { owner, helper } = openShare();
    const looks = openOffer();
    // The owner asks for help with its label check and closer looks once its boxes are known.
    const settleLooks = answerOffer(looks, (help: FollowUpHelp) => safetyThread.followUp(decoded, help, looks.helper));
    return Promise.all([
      detectThread.analyse(decoded, { detect: { ...DETECT_NEEDS.detect, share: owner, followUp: looks.owner } }).finally(settleLooks),
      safetyThread.lend(decoded, { detect: { ...DETECT_NEEDS.detect, share: helper } }),
      shrink(decoded, SAFETY_SIDE).then((s) => safetyThread.analyse(s, { safety: true })),
    ]);
  };
  return { run, close };
}

/**
 * Each stage of a detection request alone, and the bare inference of the whole request.
 * `intraOpThreads`: the server's (each model at the threads it gets in a worker).
 */
export async function measureRequestStages(o: { photoPath: string; runs: number; intraOpThreads: number; log: (l: string) => void }): Promise<RequestStages> {
  const bytes = readFileSync(o.photoPath);
  const name = path.basename(o.photoPath);
  const rows: Array<[string, number[]]> = [];
  const body = generateBody(bytes, DETECT_PROMPT, { responseMimeType: 'application/json' });
  o.log(`vision: the stages of one detection request on ${name}, ${o.runs} runs each`);
  rows.push([
    `parse the request (${(body.length / 1024).toFixed(0)} KiB JSON) + base64 → bytes`,
    await timeRuns(o.runs, () => {
      const parsed = parseLenientJson(body) as { contents: Array<{ parts: Array<{ inlineData?: { data: string } }> }> };
      return Buffer.from(parsed.contents[0]!.parts[0]!.inlineData!.data, 'base64');
    }),
  ]);
  const decodeAs = (i: number) => decodeImage(uniqueJpeg(bytes, i + 1), { partLabel: 'bench', maxPixels: 1e8 });
  rows.push(['decode (sharp: JPEG → upright sRGB, 8-bit RGB)', await timeRuns(o.runs, decodeAs)]);
  const img: DecodedImage = await decodeAs(0);
  rows.push([`safety copy: shrink to ≤ ${SAFETY_SIDE} px (sharp)`, await timeRuns(o.runs, () => shrink(img, SAFETY_SIDE))]);
  const small = await shrink(img, SAFETY_SIDE);
  rows.push(['colours + brightness (sharp 64² copy + k-means, event loop)', await timeRuns(o.runs, () => measurePixels(img))]);

  const empty = new VisionPool({ threads: 1, models: NO_MODELS });
  try {
    await empty.warm();
    rows.push([`worker hand-off and back (vision pool, no model; ${img.width}×${img.height} copied + transferred)`, await timeRuns(o.runs, () => empty.analyse(img, {}))]);
  } finally {
    await empty.close();
  }

  const threads = o.intraOpThreads;
  // The server's default: the label check (detect/verify-crop.ts) and the closer look (detect/closer-look.ts) run after the detector.
  const caps = loadVisionModels({ ...NO_MODELS, detector: DEFAULT_DETECTOR, safety: true, intraOpThreads: threads, verifyLabels: true });
  await caps.warm();
  const split: Record<'resize' | 'infer' | 'post' | 'verify' | 'closer', number[]> = { resize: [], infer: [], post: [], verify: [], closer: [] };
  rows.push([
    `detector (${DEFAULT_DETECTOR}, onnxruntime ${threads} thread${threads > 1 ? 's' : ''}) + label check + closer look, as the worker calls it`,
    await timeRuns(o.runs, async (i) => {
      const a = await analyseImage(caps, img, DETECT_NEEDS);
      if (i >= 0 && a.detectStages) for (const k of ['resize', 'infer', 'post', 'verify', 'closer'] as const) split[k].push(a.detectStages[k] ?? 0);
    }),
  ]);
  const stageName = { resize: 'input handed to the graphs (they resize inside)', infer: 'ORT inference with the in-graph resizes (SSD and CenterNet, one thread)', post: 'box decode + fusion + NMS', verify: 'label check (crops + EfficientNet-B0)', closer: 'closer look at boxes whose class is in doubt (SSD on each region)' };
  for (const k of ['resize', 'infer', 'post', 'verify', 'closer'] as const) rows.push([`  of which ${stageName[k]}`, split[k]]);
  rows.push([`safety rating (nsfwjs Mid, image + mirror; onnxruntime ${threads} thread${threads > 1 ? 's' : ''}) on the ≤ ${SAFETY_SIDE} copy`, await timeRuns(o.runs, () => analyseImage(caps, small, { safety: true }))]);
  rows.push([
    `  of which preprocessing (resize to ${NSFW_INPUT_SIZE}², 0..1 floats, mirror)`,
    await timeRuns(o.runs, () => {
      const input = toModelInput(small, NSFW_INPUT_SIZE);
      const both = new Float32Array(input.length * 2);
      both.set(input);
      both.set(mirrored(input, NSFW_INPUT_SIZE), input.length);
      return both;
    }),
  ]);
  const engine = new OfflineVision({ runModels: (i, n) => analyseImage(caps, i, n), installed: { detect: true, segment: false, ocr: false } });
  const plan = planTasks(DETECT_PROMPT, { imageCount: 1, jsonRequested: true, vocabulary });
  const facts = await engine.look([img], plan, DETECT_PROMPT);
  rows.push([
    'compose the JSON answer (answer + render)',
    await timeRuns(o.runs, () => renderAnswer(composeAnswer(plan, facts), facts, { mimeType: 'application/json' }, plan.lang, plan.json)),
  ]);

  o.log('vision: bare inference of the whole request (one thread, then two model threads)');
  const sequential = await timeRuns(o.runs, async (i) => {
    const decoded = await decodeAs(i + 1000);
    await analyseImage(caps, decoded, DETECT_NEEDS);
    await analyseImage(caps, await shrink(decoded, SAFETY_SIDE), { safety: true });
  });
  await caps.dispose();
  const layout = await openBareLayout(threads);
  let parallel: number[];
  let parallelDecoded: number[];
  try {
    parallel = await timeRuns(o.runs, async (i) => layout.run(await decodeAs(i + 2000)));
    parallelDecoded = await timeRuns(o.runs, () => layout.run(img));
  } finally {
    await layout.close();
  }
  rows.push(['bare, one thread: decode + detector + safety copy + safety rating, one after another', sequential]);
  rows.push(['bare, as the server lays it out: decode, then CenterNet ‖ (SSD + safety copy + rating) on two threads, then label check + closer looks shared by both', parallel]);
  rows.push(['  the same, image already decoded (a repeated photo: the decode cache hits)', parallelDecoded]);
  const table: Table = {
    head: [`one detection request's stages, alone (${name}, ${img.width}×${img.height}, bench process)`, 'p50', 'p95', 'runs'],
    rows: rows.map(([n, xs]) => [n, ms(p50(xs)), ms(quantile(sorted(xs), 0.95)), String(xs.length)]),
  };
  return { table, bare: { sequential, parallel, parallelDecoded } };
}

export interface ServerSplit {
  /** Client-side latency of each request. */
  latency: number[];
  /** Fastify's responseTime (first byte of the request in → response written). */
  server: number[];
  /** Per worker task: pool.analyse → result (hand-off + queue + model) and the model time the worker reports. */
  detectTask: number[];
  detectModel: number[];
  /** Of the detector's time: inference (CenterNet, with SSD lent), and the label check + closer looks run on its own thread. */
  detectInfer: number[];
  detectFollowUp: number[];
  /** Follow-up items (label checks, closer looks) the other worker ran, per request. */
  helped: number[];
  safetyTask: number[];
  safetyModel: number[];
}

/**
 * Detection requests (a new JPEG each time, so each decodes) against a server logging at
 * debug level, split by its own log lines: the vision pool's "vision analysis stages"
 * (task total and model time per task) and Fastify's "request completed" (responseTime).
 */
export async function measureServerSplit(server: OcellusChild, logFile: string, bytes: Buffer, runs: number): Promise<ServerSplit> {
  const latency: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const body = generateBody(uniqueJpeg(bytes, 1_000_000 + i), DETECT_PROMPT, { responseMimeType: 'application/json' });
    const req = buildRequest({ port: server.port, path: '/v1beta/models/gemini-2.5-flash:generateContent', body, headers: { 'Content-Type': 'application/json' } });
    const t = performance.now();
    const r = await requestOnce(server.port, req, { timeoutMs: 60_000 });
    if (r.status !== 200) throw new Error(`vision bench (debug server): HTTP ${r.status}: ${r.body.toString().slice(0, 300)}`);
    if (i > 0) latency.push(performance.now() - t);
  }
  await new Promise((r) => setTimeout(r, 300)); // let the log reach the file
  const lines = readFileSync(logFile, 'utf8').trim().split('\n');
  const split: ServerSplit = { latency, server: [], detectTask: [], detectModel: [], detectInfer: [], detectFollowUp: [], helped: [], safetyTask: [], safetyModel: [] };
  for (const line of lines) {
    let rec: { msg?: string; responseTime?: number; totalMs?: number; times?: { detect?: number; safety?: number }; detectStages?: DetectStages; req?: unknown };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      continue;
    }
    if (rec.msg === 'request completed' && typeof rec.responseTime === 'number') split.server.push(rec.responseTime);
    if (rec.msg === 'vision analysis stages (ms)' && typeof rec.totalMs === 'number') {
      if (rec.times?.detect !== undefined) {
        split.detectTask.push(rec.totalMs);
        split.detectModel.push(rec.times.detect);
        split.detectInfer.push(rec.detectStages?.infer ?? 0);
        split.detectFollowUp.push((rec.detectStages?.verify ?? 0) + (rec.detectStages?.closer ?? 0));
        split.helped.push(rec.detectStages?.helped ?? 0);
      } else if (rec.times?.safety !== undefined) {
        split.safetyTask.push(rec.totalMs);
        split.safetyModel.push(rec.times.safety);
      }
    }
  }
  // Only the measured requests: the warm-up's lines come first.
  const last = <T>(xs: T[]) => xs.slice(-runs);
  return {
    latency,
    server: last(split.server),
    detectTask: last(split.detectTask),
    detectModel: last(split.detectModel),
    detectInfer: last(split.detectInfer),
    detectFollowUp: last(split.detectFollowUp),
    helped: last(split.helped),
    safetyTask: last(split.safetyTask),
    safetyModel: last(split.safetyModel),
  };
}
