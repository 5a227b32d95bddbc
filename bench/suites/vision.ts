/**
 * Suite 4: the offline vision engine (issue 12's acceptance figures). In one run:
 * - each model alone in the bench process, on each runtime: the default detector on TF.js
 *   (wasm, one thread) and on onnxruntime at 1 and 2 intra-op threads, its stage split
 *   (input / inference with the in-graph resize / decode + NMS), SAM's encoder at 1 and 2 threads, its decoder;
 * - segmentation of 1 / 5 / 10 boxes through the vision pool (the worker threads the server
 *   uses), first (encoder runs) and repeat (encoder output cached), against bare inference
 *   (encoder + N × decoder in process);
 * - through a real `ocellus serve` (2 workers × the default intra-op threads, 1 on 2 cores):
 *   detection JSON, segmentation of the crowd photo (first and repeat), captions at
 *   concurrency 1 / 4 / 8, each against the bare inference it wraps;
 * - the same detection and caption rows through servers with the other workers × threads choices
 *   (1 × 2, 2 × 2 on 2 cores), so the latency-vs-throughput choice is shown measured.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { composeAnswer } from '../../src/engine/compose/answer.js';
import { renderAnswer } from '../../src/engine/compose/render.js';
import { planTasks } from '../../src/engine/planner.js';
import { OfflineVision } from '../../src/engine/offline/vision.js';
import { decodeImage } from '../../src/media/decode.js';
import { analyseImage } from '../../src/vision/analyser.js';
import type { NormBox } from '../../src/vision/analysis.js';
import { loadVisionModels } from '../../src/vision/load-models.js';
import { vocabulary } from '../../src/vision/detect/coco.js';
import { createDetector, createTfjsDetector, DEFAULT_DETECTOR, type LoadedDetector } from '../../src/vision/detect/index.js';
import { readText, TesseractReader } from '../../src/vision/ocr/index.js';
import { defaultIntraOpThreads, defaultWideEncoderThreads, VisionPool } from '../../src/vision/pool.js';
import { SamSegmenter } from '../../src/vision/segment/sam.js';
import { buildRequest, requestOnce, runLoad, type LoadResult } from '../lib/http-load.js';
import { makeMutator, slottedBody, uniqueJpeg } from '../lib/unique-jpeg.js';
import { DETECT_PROMPT, generateBody, measureRequestStages, measureServerSplit, openBareLayout, timeRuns } from './vision-request.js';
import type { SuiteResult, Table } from '../lib/report.js';
import { processCpuSeconds } from '../lib/machine.js';
import { procMemory, startOcellus, type OcellusChild } from '../lib/servers.js';
import { fmt, median, mib, ms, quantile, ratio, sorted } from '../lib/stats.js';

export interface VisionOptions {
  photoPath: string; // 640-pixel photo (person.jpg, 640×424)
  crowdPath: string; // a photo with 5+ objects (kite.jpg)
  tmpDir: string;
  runs: number;
  loadMs: number;
  log: (line: string) => void;
}

const p = (xs: number[], q: number) => quantile(sorted(xs), q);
const p50 = (xs: number[]) => median(sorted(xs));

/** `n` boxes spread over the image (a grid of overlapping boxes), for segmentation of n objects. */
function gridBoxes(n: number): Array<{ box: NormBox; label: string }> {
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  return Array.from({ length: n }, (_, k) => {
    const x = (k % cols) / cols;
    const y = Math.floor(k / cols) / rows;
    return { box: [x, y, Math.min(1, x + 1.3 / cols), Math.min(1, y + 1.3 / rows)] as NormBox, label: `box ${k + 1}` };
  });
}

/** A server started with `env` set for it only (e.g. intra-op threads). */
async function startWith(env: Record<string, string>, opts: Parameters<typeof startOcellus>[0]): Promise<OcellusChild> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await startOcellus(opts);
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

interface ServerRun {
  /** Detection JSON, a new JPEG each request (same pixels, other bytes): every request decodes. */
  detect: number[];
  /** Detection JSON, the same JPEG each time: decoded and analysed once, then answered from the server's caches. */
  detectSame: number[];
  captions: LoadResult[];
  /** The server's CPU time per caption answered (ms, all its threads), at each concurrency. */
  cpuPerCaption: number[];
  /** The bare layout timed between the requests (main server only), a new JPEG decoded each time. */
  bareNew?: number[];
  /** Captions of one photo, sent again and again (its analysis kept after the first), at concurrency 8. */
  captionsSame?: LoadResult;
}

export async function runVision(o: VisionOptions): Promise<SuiteResult> {
  const started = performance.now();
  const bytes = readFileSync(o.photoPath);
  const crowd = readFileSync(o.crowdPath);
  const img = await decodeImage(bytes, { partLabel: 'bench', maxPixels: 1e8 });
  const name = path.basename(o.photoPath);

  // --- each model alone, per runtime ------------------------------------------------------
  o.log(`vision: models alone on ${name} (${img.width}×${img.height}), ${o.runs} runs each`);
  const alone: Array<[string, number[]]> = [];
  // Not every detector has a TF.js form (the fused one runs on onnxruntime only).
  let tfjs: ReturnType<typeof createTfjsDetector> | undefined;
  try {
    tfjs = createTfjsDetector(DEFAULT_DETECTOR);
  } catch (err) {
    o.log(`vision: no TF.js row: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (tfjs) {
    await tfjs.load();
    const t = tfjs;
    alone.push([`detect, ${DEFAULT_DETECTOR}, TF.js wasm (1 thread)`, await timeRuns(o.runs, () => t.detect(img))]);
    tfjs.dispose();
  }
  const mainIntra = defaultIntraOpThreads(2);
  const threadCounts = [...new Set([1, 2, mainIntra])].sort((a, b) => a - b);
  const ortDetect: Record<number, number[]> = {};
  const split: Record<string, number[]> = { resize: [], infer: [], post: [] };
  for (const threads of threadCounts) {
    const det: LoadedDetector = createDetector(DEFAULT_DETECTOR, { intraOpThreads: threads });
    await det.load();
    ortDetect[threads] = await timeRuns(o.runs, async (i) => {
      await det.detect(img);
      if (threads === 1 && i >= 0 && det.lastTimes) for (const k of ['resize', 'infer', 'post'] as const) split[k]!.push(det.lastTimes[k]);
    });
    alone.push([`detect, ${DEFAULT_DETECTOR}, onnxruntime ${threads} intra-op thread${threads > 1 ? 's' : ''}`, ortDetect[threads]!]);
    det.dispose();
  }
  for (const k of ['resize', 'infer', 'post'] as const) alone.push([`  of which ${k === 'resize' ? 'input handed to the graph' : k === 'infer' ? 'ORT inference with the in-graph resize to 300²' : 'box decode + NMS'} (1 thread)`, split[k]!]);

  const samRuns = Math.max(2, Math.ceil(o.runs / 2));
  const samEncode: Record<number, number[]> = {};
  let samDecode: number[] = [];
  for (const threads of threadCounts) {
    const sam = new SamSegmenter({ intraOpNumThreads: threads });
    await sam.load();
    samEncode[threads] = await timeRuns(samRuns, () => sam.encode(img));
    alone.push([`SAM encode, onnxruntime ${threads} intra-op thread${threads > 1 ? 's' : ''}`, samEncode[threads]!]);
    if (threads === 1) {
      const emb = await sam.encode(img);
      samDecode = await timeRuns(o.runs, () => sam.maskForBox(emb, [0.2, 0.2, 0.7, 0.8]));
      alone.push(['SAM decode (per box, 1 thread)', samDecode]);
    }
    await sam.dispose();
  }
  const tesseract = new TesseractReader();
  await tesseract.load();
  alone.push(['OCR (tesseract)', await timeRuns(Math.min(o.runs, 5), () => readText(img, { tesseract }, { prompt: 'Read the text.' }))]);
  await tesseract.dispose();
  const caps = loadVisionModels({ detector: DEFAULT_DETECTOR, segment: false, ocrLatin: false, ocrCjk: false, safety: false, people: false });
  const engine = new OfflineVision({ runModels: (i, n) => analyseImage(caps, i, n), installed: { detect: true, segment: false, ocr: false } });
  const plan = planTasks('Caption this image.', { imageCount: 1, jsonRequested: false, vocabulary });
  const facts = await engine.look([img], plan, 'Caption this image.');
  alone.push(['compose (plan + answer + render)', await timeRuns(o.runs, async () => renderAnswer(composeAnswer(plan, facts), facts, { mimeType: 'text/plain' }, 'en', false))]);
  await caps.dispose();
  // A segmentation with nothing else running encodes on the wide session (src/vision/pool.ts): its bare time is the encoder on that many threads.
  const wideThreads = defaultWideEncoderThreads(2, mainIntra);
  const firstEncodeThreads = wideThreads > mainIntra && samEncode[wideThreads] ? wideThreads : mainIntra;
  const bareFirstEncode = p50(samEncode[firstEncodeThreads]!);
  const encodeLabel = `encode (${firstEncodeThreads} thread${firstEncodeThreads > 1 ? 's' : ''})`;
  const bareDecode = p50(samDecode);
  const stageTable: Table = {
    head: ['model alone (bench process)', 'p50', 'p95', 'runs'],
    rows: alone.map(([n, xs]) => [n, ms(p(xs, 0.5)), ms(p(xs, 0.95)), String(xs.length)]),
  };

  // --- one detection request, stage by stage, and its bare inference ---------------------------
  const request = await measureRequestStages({ photoPath: o.photoPath, runs: o.runs, intraOpThreads: mainIntra, log: o.log });
  const bareLaidOut = p50(request.bare.parallel);
  const bareOneThread = p50(request.bare.sequential);

  // --- segmentation of 1 / 5 / 10 boxes through the worker pool ------------------------------
  o.log('vision: segmentation of 1/5/10 boxes through the vision pool (2 workers)');
  const pool = new VisionPool({ threads: 2, models: { detector: DEFAULT_DETECTOR, segment: true, ocrLatin: false, ocrCjk: false, safety: false, people: false } });
  const segRows: string[][] = [];
  try {
    await pool.warm();
    let variant = 0;
    for (const n of [1, 5, 10]) {
      const boxes = gridBoxes(n);
      const first: number[] = [];
      const repeat: number[] = [];
      for (let r = 0; r < samRuns; r++) {
        // A new image each time (one pixel changed), so the first request misses the cache.
        const rgb = Uint8Array.from(img.rgb);
        rgb[0] = (rgb[0]! + ++variant) % 256;
        const fresh = { width: img.width, height: img.height, rgb };
        let t = performance.now();
        const made = await pool.analyse(fresh, { segment: { boxes } });
        first.push(performance.now() - t);
        if (made.samEncodeThreads !== firstEncodeThreads) throw new Error(`vision bench: the encoder ran on ${made.samEncodeThreads} threads, expected ${firstEncodeThreads}`);
        t = performance.now();
        const again = await pool.analyse(fresh, { segment: { boxes } });
        repeat.push(performance.now() - t);
        if (again.times.samEncode !== undefined) throw new Error('vision bench: the repeat segmentation ran the encoder');
      }
      const bareFirst = bareFirstEncode + n * bareDecode;
      segRows.push([`${n} box${n > 1 ? 'es' : ''}, first (encoder runs)`, ms(p50(first)), ms(p(first, 0.95)), `${encodeLabel} + ${n} × decode ${ms(bareFirst)}`, ratio(p50(first), bareFirst)]);
      segRows.push([`${n} box${n > 1 ? 'es' : ''}, repeat (encoder cached)`, ms(p50(repeat)), ms(p(repeat, 0.95)), `${n} × decode ${ms(n * bareDecode)}`, ratio(p50(repeat), n * bareDecode)]);
    }
  } finally {
    await pool.close();
  }
  const segTable: Table = { head: ['segmentation through the vision pool', 'p50', 'p95', 'bare inference (same run)', 'ratio'], rows: segRows, align: ['left', 'right', 'right', 'right', 'right'] };

  // --- through the server ------------------------------------------------------------------
  const detectBody = (jpeg: Buffer) => generateBody(jpeg, DETECT_PROMPT, { responseMimeType: 'application/json' });
  // Captions send a new JPEG each request (same pixels, a new comment, rewritten in place),
  // so every one decodes and runs the models, as new photos do; the analysis cache is
  // measured apart, with the same photo again and again.
  const captionBody = (jpeg: Buffer) => generateBody(jpeg, 'Caption this image.');
  const captionNew = slottedBody(bytes, captionBody);
  const concurrencies = [1, 4, 8];
  type BareLayout = Awaited<ReturnType<typeof openBareLayout>>;
  const measure = async (server: OcellusChild, label: string, bare?: BareLayout): Promise<ServerRun> => {
    const post = (body: string) =>
      buildRequest({ port: server.port, path: '/v1beta/models/gemini-2.5-flash:generateContent', body, headers: { 'Content-Type': 'application/json' } });
    const sameReq = post(detectBody(bytes));
    const detect: number[] = [];
    const detectSame: number[] = [];
    const bareNew: number[] = [];
    // New and repeated photos alternate, and with them the bare layout when given (the server
    // idle meanwhile), so drifting outside load weighs on all alike.
    for (let i = 0; i < o.runs + 1; i++) {
      for (const [req, into] of [
        [post(detectBody(uniqueJpeg(bytes, i + 1))), detect],
        [sameReq, detectSame],
      ] as const) {
        const t = performance.now();
        const r = await requestOnce(server.port, req, { timeoutMs: 60_000 });
        if (r.status !== 200) throw new Error(`vision bench (${label}): HTTP ${r.status}: ${r.body.toString().slice(0, 300)}`);
        if (i > 0) into.push(performance.now() - t);
      }
      if (bare) {
        let t = performance.now();
        await bare.run(await decodeImage(uniqueJpeg(bytes, 5000 + i), { partLabel: 'bench', maxPixels: 1e8 }));
        if (i > 0) bareNew.push(performance.now() - t);
      }
    }
    const captions: LoadResult[] = [];
    const cpuPerCaption: number[] = [];
    for (const c of concurrencies) {
      o.log(`vision: ${label}: captions at concurrency ${c} for ${o.loadMs} ms`);
      const request = post(captionNew.body.toString('latin1'));
      // The server's CPU over the warm-up and the window alike (both under the same load), per
      // request answered: what a caption costs the machine, whichever thread spent it.
      const cpu0 = processCpuSeconds(server.pid);
      const t0 = performance.now();
      const l = await runLoad({ port: server.port, request, mutate: makeMutator(captionNew)!, concurrency: c, warmupMs: 1500, durationMs: o.loadMs, maxRequests: 100_000, timeoutMs: 60_000 });
      cpuPerCaption.push(((processCpuSeconds(server.pid) - cpu0) / ((performance.now() - t0) / 1000) / l.rps) * 1000);
      captions.push(l);
    }
    let captionsSame: LoadResult | undefined;
    if (bare) {
      o.log(`vision: ${label}: captions of the same photo at concurrency 8 for ${o.loadMs} ms`);
      captionsSame = await runLoad({ port: server.port, request: post(captionBody(bytes)), concurrency: 8, warmupMs: 1500, durationMs: o.loadMs, maxRequests: 100_000, timeoutMs: 60_000 });
    }
    return { detect, detectSame, captions, cpuPerCaption, ...(bare ? { bareNew } : {}), ...(captionsSame ? { captionsSame } : {}) };
  };

  const mainLabel = `2 workers × ${mainIntra} thread${mainIntra > 1 ? 's' : ''} (default)`;
  o.log(`vision: starting ocellus serve with the default models (${mainLabel})`);
  const server = await startOcellus({ dataDir: path.join(o.tmpDir, 'vision-data'), logFile: path.join(o.tmpDir, 'vision.log'), extraArgs: ['--log-level', 'warn'] });
  const rssBefore = procMemory(server.pid);
  let main: ServerRun;
  const crowdFirst: number[] = [];
  const crowdRepeat: number[] = [];
  let masks = 0;
  let mem: ReturnType<typeof procMemory>;
  try {
    // The bare layout again, timed between the main server's requests: the ratio rows compare those.
    const layout = await openBareLayout(mainIntra);
    try {
      main = await measure(server, mainLabel, layout);
    } finally {
      await layout.close();
    }
    // Segmentation of the crowd photo: a new JPEG each time (quality varies) for the first request.
    for (let r = 0; r < samRuns; r++) {
      const jpeg = await sharp(crowd).jpeg({ quality: 80 + r }).toBuffer();
      const req = buildRequest({ port: server.port, path: '/v1beta/models/gemini-2.5-flash:generateContent', body: generateBody(jpeg, 'Give the segmentation masks for all of the prominent items.'), headers: { 'Content-Type': 'application/json' } });
      for (const into of [crowdFirst, crowdRepeat]) {
        const t = performance.now();
        const res = await requestOnce(server.port, req, { timeoutMs: 60_000 });
        if (res.status !== 200) throw new Error(`vision bench: segmentation HTTP ${res.status}`);
        into.push(performance.now() - t);
        masks = (res.body.toString().match(/data:image\/png;base64/g) ?? []).length;
      }
    }
    mem = procMemory(server.pid);
  } finally {
    await server.stop(5000);
  }

  const alternatives: Array<{ workers: number; intra: number; label: string; args?: string[]; run?: ServerRun }> = [
    { workers: 1, intra: 2, label: '1 worker × 2 threads' },
    { workers: 2, intra: 1, label: '2 workers × 1 thread' },
    { workers: 2, intra: 2, label: '2 workers × 2 threads' },
  ].filter((a) => !(a.workers === 2 && a.intra === mainIntra));
  // The speed end of the quality trade (docs/detectors.md): SSD alone, no label check.
  alternatives.push({ workers: 2, intra: mainIntra, label: `${mainLabel.replace(' (default)', '')}, --detector ssd-mobilenet --no-verify-labels`, args: ['--detector', 'ssd-mobilenet', '--no-verify-labels'] });
  // What the heap growth factor buys (src/heap-growth.ts): the same server with V8's own factor.
  alternatives.push({ workers: 2, intra: mainIntra, label: `${mainLabel.replace(' (default)', '')}, --heap-growth 0 (V8's own garbage-collection schedule)`, args: ['--heap-growth', '0'] });
  // Issue 9's yardstick: the default must detect no slower than the default it replaced, CenterNet
  // on TF.js (wasm) with no label check, as it ran when the issue was filed.
  alternatives.push({
    workers: 2,
    intra: mainIntra,
    label: `${mainLabel.replace(' (default)', '')}, --detector centernet --detector-runtime tfjs --no-verify-labels --no-closer-look (the default when issue 9 was filed)`,
    args: ['--detector', 'centernet', '--detector-runtime', 'tfjs', '--no-verify-labels', '--no-closer-look'],
  });
  for (const a of alternatives) {
    o.log(`vision: starting ocellus serve with ${a.label}, for comparison`);
    const tag = `${a.workers}x${a.intra}${a.args ? `-${a.args[1]}` : ''}`;
    const alt = await startWith(
      { OCELLUS_VISION_INTRA_THREADS: String(a.intra) },
      { dataDir: path.join(o.tmpDir, `vision-data-${tag}`), logFile: path.join(o.tmpDir, `vision-${tag}.log`), extraArgs: ['--log-level', 'warn', '--vision-threads', String(a.workers), ...(a.args ?? [])] },
    );
    try {
      a.run = await measure(alt, a.label);
    } finally {
      await alt.stop(5000);
    }
  }

  // --- the server's own account of a request (debug log), default settings ------------------------
  o.log('vision: a server logging at debug level, for the split of a detection request');
  const debugLog = path.join(o.tmpDir, 'vision-debug.log');
  const debugServer = await startOcellus({ dataDir: path.join(o.tmpDir, 'vision-data-debug'), logFile: debugLog, extraArgs: ['--log-level', 'debug'] });
  let serverSplit: Awaited<ReturnType<typeof measureServerSplit>>;
  try {
    serverSplit = await measureServerSplit(debugServer, debugLog, bytes, o.runs);
  } finally {
    await debugServer.stop(5000);
  }
  const longerTask = Math.max(p50(serverSplit.detectTask), serverSplit.safetyTask.length ? p50(serverSplit.safetyTask) : 0);
  const splitTable: Table = {
    head: [`one detection request through a server at debug level (new JPEG each time, ${serverSplit.latency.length} requests)`, 'p50', 'p95'],
    rows: [
      ['client: request written → response read', ms(p50(serverSplit.latency)), ms(p(serverSplit.latency, 0.95))],
      ['server: request received → response written (Fastify responseTime)', ms(p50(serverSplit.server)), ms(p(serverSplit.server, 0.95))],
      ['detection task: vision pool → worker → result', ms(p50(serverSplit.detectTask)), ms(p(serverSplit.detectTask, 0.95))],
      ['  of which the detector, as the worker timed it', ms(p50(serverSplit.detectModel)), ms(p(serverSplit.detectModel, 0.95))],
      ['    of which inference (CenterNet here, SSD lent to the other worker)', ms(p50(serverSplit.detectInfer)), ms(p(serverSplit.detectInfer, 0.95))],
      ['    of which the label check + closer looks run on this worker', ms(p50(serverSplit.detectFollowUp)), ms(p(serverSplit.detectFollowUp, 0.95))],
      [
        '    label checks + closer looks the other worker ran, per request (mean)',
        (serverSplit.helped.reduce((a, b) => a + b, 0) / Math.max(1, serverSplit.helped.length)).toFixed(1),
        '',
      ],
      ...(serverSplit.safetyTask.length
        ? [
            ['safety task (at the same time, other worker): vision pool → worker → result', ms(p50(serverSplit.safetyTask)), ms(p(serverSplit.safetyTask, 0.95))],
            ['  of which the safety rating, as the worker timed it', ms(p50(serverSplit.safetyModel)), ms(p(serverSplit.safetyModel, 0.95))],
          ]
        : []),
      ['server time outside the longer task (parse, decode, copies, colours, compose, write; p50s subtracted)', ms(p50(serverSplit.server) - longerTask), ''],
    ],
  };

  const serverRows: string[][] = [];
  // The target row: the whole request against the bare inference of all it runs (vision-request.ts),
  // timed between the requests themselves; the stage table's earlier timing of it is the next row.
  const bareBetween = p50(main.bareNew!);
  serverRows.push([
    `detection JSON, ${name}, new photo each request (decoded each time), ${mainLabel}`,
    ms(p50(main.detect)),
    ms(p(main.detect, 0.95)),
    `bare, as the server lays it out, timed between these requests ${ms(bareBetween)}`,
    ratio(p50(main.detect), bareBetween),
  ]);
  serverRows.push(['  the same requests', '', '', `bare, as the server lays it out, timed before the servers started ${ms(bareLaidOut)}`, ratio(p50(main.detect), bareLaidOut)]);
  serverRows.push(['  the same requests', '', '', `bare, one thread ${ms(bareOneThread)}`, ratio(p50(main.detect), bareOneThread)]);
  serverRows.push(['  the same requests', '', '', `detector alone ${ms(p50(ortDetect[mainIntra]!))}`, ratio(p50(main.detect), p50(ortDetect[mainIntra]!))]);
  serverRows.push([
    `detection JSON, ${name}, the same photo each time (decode and analysis cached), ${mainLabel}`,
    ms(p50(main.detectSame)),
    ms(p(main.detectSame, 0.95)),
    `the new-photo requests above ${ms(p50(main.detect))}`,
    ratio(p50(main.detectSame), p50(main.detect)),
  ]);
  for (const [label, run, bare] of [
    [mainLabel, main, p50(ortDetect[mainIntra]!)],
    // The fast profile's baseline would be SSD alone, which this suite does not time: its rows say so.
    ...alternatives.map((a) => [a.label, a.run!, a.args ? Number.NaN : p50(ortDetect[a.intra]!)] as const),
  ] as const) {
    const alone = Number.isNaN(bare) ? 'not timed here' : `detector alone ${ms(bare)}`;
    if (run !== main) serverRows.push([`detection JSON, ${name}, new photo each request, ${label}`, ms(p50(run.detect)), ms(p(run.detect, 0.95)), alone, ratio(p50(run.detect), bare)]);
    run.captions.forEach((l, k) => {
      const c = concurrencies[k]!;
      serverRows.push([
        `caption at concurrency ${c}, ${label} (${l.requests} requests, ${l.errors} errors)`,
        ms(quantile(l.latenciesMs, 0.5)),
        ms(quantile(l.latenciesMs, 0.95)),
        c === 1 && run === main
          ? `${fmt(l.rps)} req/s; bare, laid out ${ms(bareBetween)}`
          : c === 1
            ? `${fmt(l.rps)} req/s; ${alone}`
            : `${fmt(l.rps)} req/s; server CPU ${ms(run.cpuPerCaption[k]!)} per caption`,
        c === 1 ? ratio(quantile(l.latenciesMs, 0.5), run === main ? bareBetween : bare) : '–',
      ]);
    });
    if (run.captionsSame) {
      const l = run.captionsSame;
      const newAt8 = run.captions[concurrencies.indexOf(8)]!;
      serverRows.push([
        `caption at concurrency 8, the same photo each request (analysis cached), ${label} (${l.requests} requests, ${l.errors} errors)`,
        ms(quantile(l.latenciesMs, 0.5)),
        ms(quantile(l.latenciesMs, 0.95)),
        `${fmt(l.rps)} req/s; new photos at c=8 ${fmt(newAt8.rps)} req/s`,
        ratio(l.rps, newAt8.rps),
      ]);
    }
  }
  serverRows.push([`segmentation, ${path.basename(o.crowdPath)} (${masks} masks), first`, ms(p50(crowdFirst)), ms(p(crowdFirst, 0.95)), `${encodeLabel} + ${masks} × decode ${ms(bareFirstEncode + masks * bareDecode)}`, ratio(p50(crowdFirst), bareFirstEncode + masks * bareDecode)]);
  serverRows.push([`segmentation, ${path.basename(o.crowdPath)} (${masks} masks), repeat`, ms(p50(crowdRepeat)), ms(p(crowdRepeat, 0.95)), `${masks} × decode ${ms(masks * bareDecode)}`, ratio(p50(crowdRepeat), masks * bareDecode)]);
  const serverTable: Table = {
    head: ['request (through the server)', 'p50', 'p95', 'baseline (same run)', 'ratio'],
    rows: serverRows,
    align: ['left', 'right', 'right', 'right', 'right'],
  };
  const memTable: Table = {
    head: ['server memory (2 workers)', 'value'],
    rows: [
      ['RSS after start-up and warm-up', mib(rssBefore.rssBytes)],
      ['peak RSS (VmHWM) after the runs above', mib(mem!.hwmBytes)],
    ],
  };
  return {
    title: 'Offline vision engine: models per runtime, segmentation, server overhead, throughput, memory',
    method:
      `Models alone run in the bench process, each warmed once, then timed ${o.runs} times (SAM ${samRuns}) on \`${name}\` ` +
      `(${img.width}×${img.height}). Segmentation rows use the vision pool (2 worker threads, as the server) with 1/5/10 boxes ` +
      'on a new image each time (first: encoder runs, on every core when nothing else is running, src/vision/pool.ts; repeat: its output comes from the cache). Server rows use a real ' +
      '`ocellus serve` child with the default models (detector, SAM, OCR, safety, people), warmed at start-up; requests are what ' +
      '`@google/genai` sends. A detection request runs, besides HTTP, JSON and composing: the decode, the detector, and the ' +
      'safety rating of a ≤ 448 px copy (its safetyRatings), the detector and the rating at once on the two workers. Its ' +
      'baseline is the bare inference of all of that in the bench process, laid out as the server lays it out (decode, then ' +
      'the two models at once on two threads, then the label check and closer looks shared by both: bench/lib/model-thread.ts), timed between the server\'s own requests (one bare run ' +
      'after each pair of requests, the server idle meanwhile), so a host whose speed drifts during the suite weighs on both ' +
      'alike; the rows under it give the same requests against the same layout timed before the servers started, against ' +
      'the same work on one thread, one after another, and against the detector alone. Detection requests send a new JPEG ' +
      'each time (same pixels, a different comment segment), so every one decodes, alternating with the same JPEG repeated ' +
      '(decoded and analysed once, then answered from the caches). The second table ' +
      'times each stage of such a request alone; the debug-level server splits its time by its own log. Caption rows: ' +
      'closed-loop clients at each concurrency, each request a new JPEG (same pixels, a new comment segment rewritten in ' +
      'place, so every one decodes and runs the models); the c=1 row is against the bare layout (the other configurations: ' +
      'against the detector alone); at c=4 and 8 they also give the server\'s CPU time (all its threads) per caption ' +
      'answered, what bounds the throughput: cores ÷ CPU per caption. The server keeps each image\'s analysis by hash (src/vision/analysis-cache.ts): the ' +
      'same-photo rows show what a repeated image (a chat\'s history, a file asked about again) costs, against new photos. Targets (issue 12): detection p50 ≤ 60 ms, 5-object ' +
      'segmentation < 1 s, repeat < 300 ms, captions at concurrency 8 ≥ 22 req/s, through-server ≤ ×1.15 bare.',
    tables: [stageTable, request.table, segTable, serverTable, splitTable, memTable],
    notes: [
      'The default detector runs on onnxruntime (the TF.js graph converted to ONNX at first use, src/vision/detect/onnx/); ' +
        'TF.js on wasm runs one thread per call and is kept for the other detectors.',
      'Workers × intra-op threads: the default spreads the cores over the workers (2 × 1 on 2 cores); the other server rows ' +
        'show 1 × 2 and 2 × 2 measured in the same run (docs/detectors.md has the guidance for bigger machines).',
    ],
    seconds: (performance.now() - started) / 1000,
    cpu: undefined,
  };
}
