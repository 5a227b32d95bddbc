/**
 * Which detector should be the default: recall at IoU 0.5, hallucinated labels and CPU
 * time of each candidate and of two second opinions, on every labelled photo we have
 * (test/vision/detect/ground-truth.json: darknet + skimage; and eval/labels.json, whose
 * labels win for photos in both). Prints a markdown table for docs/detectors.md.
 *
 *   npx tsx bench/detector-quality.ts [--runs 3] [--models centernet,ssd-mobilenet,nanodet] [--out dets.json]
 *
 * "Hallucinated label": a class named in a photo (at the variant's threshold) that names
 * no labelled object of that photo, difficult ones included.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createDetector, findModelFile, fetchModelPackage, nms } from '../src/vision/detect/index.js';
import { averagePrecision, matchDetections, type TruthBox } from '../src/vision/detect/evaluate.js';
import { COCO_CLASSES } from '../src/vision/detect/coco.js';
import { fuseLooks } from '../src/vision/detect/second-look.js';
import type { Candidate } from '../src/vision/detect/nms.js';
import type { Detection, RgbImage } from '../src/vision/detect/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = process.env.OCELLUS_FIXTURES_DIR ?? path.join(ROOT, '.fixtures');
const SKIMAGE = path.join(ROOT, 'bench', 'out', 'photos');
const arg = (n: string) => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : undefined);
const runs = Number(arg('runs') ?? 3);

type Truth = Record<string, TruthBox[]>;
const truth: Truth = (JSON.parse(readFileSync(path.join(ROOT, 'test/vision/detect/ground-truth.json'), 'utf8')) as { images: Truth }).images;
/** The eval set (eval/labels.json, photos fetched into .fixtures/eval by scripts/fetch-fixtures.sh). */
const labels = path.join(ROOT, 'eval', 'labels.json');
if (existsSync(labels) && !process.argv.includes('--no-eval-set')) {
  const photos = (JSON.parse(readFileSync(labels, 'utf8')) as { photos: Record<string, { objects?: TruthBox[] }> }).photos;
  for (const [name, p] of Object.entries(photos)) if (p.objects) truth[name] = p.objects;
}

function photoFile(name: string): string | null {
  for (const dir of [FIXTURES, path.join(FIXTURES, 'eval'), SKIMAGE]) if (existsSync(path.join(dir, name))) return path.join(dir, name);
  return null;
}

async function decode(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

const photos: Array<{ name: string; img: RgbImage; truth: TruthBox[] }> = [];
for (const [name, t] of Object.entries(truth)) {
  const file = photoFile(name);
  if (file) photos.push({ name, img: await decode(file), truth: t });
  else process.stderr.write(`skipping ${name}: not fetched\n`);
}
const SPEED = photos.filter((p) => ['dog.jpg', 'person.jpg', 'horses.jpg', 'giraffe.jpg', 'kite.jpg', 'eagle.jpg', 'scream.jpg'].includes(p.name));

interface Variant {
  name: string;
  threshold: number;
  dets: Record<string, Detection[]>;
  cpuMs: number[];
}

async function measure(name: string, make: () => { detect: (img: RgbImage, o?: { minScore?: number }) => Promise<Detection[]> }, threshold: number): Promise<Variant> {
  const det = make();
  const dets: Record<string, Detection[]> = {};
  for (const p of photos) dets[p.name] = await det.detect(p.img, { minScore: 0.1 });
  const cpuMs: number[] = [];
  for (let r = 0; r < runs; r++)
    for (const p of SPEED) {
      const c = process.cpuUsage();
      await det.detect(p.img);
      const d = process.cpuUsage(c);
      cpuMs.push((d.user + d.system) / 1000);
    }
  process.stderr.write(`${name}: done\n`);
  return { name, threshold, dets, cpuMs };
}

const toCandidate = (d: Detection): Candidate => {
  const classScores = new Float32Array(COCO_CLASSES.length);
  classScores[COCO_CLASSES.indexOf(d.label as never)] = d.score;
  for (const a of d.alternatives ?? []) classScores[COCO_CLASSES.indexOf(a.label as never)] = a.score;
  return { classIndex: COCO_CLASSES.indexOf(d.label as never), score: d.score, box: d.box, classScores };
};

/** Two detectors' boxes fused like the two looks: each class score is the mean of both. */
function ensemble(name: string, a: Variant, b: Variant, threshold: number): Variant {
  const dets: Record<string, Detection[]> = {};
  for (const p of photos) {
    const fused = nms(fuseLooks(a.dets[p.name]!.map(toCandidate), b.dets[p.name]!.map(toCandidate)), { minScore: 0.05, iouThreshold: 0.45, crossClassIouThreshold: 0.9 });
    dets[p.name] = fused.map((c) => ({ label: COCO_CLASSES[c.classIndex]!, score: c.score, box: c.box }));
  }
  return { name, threshold, dets, cpuMs: a.cpuMs.map((v, i) => v + (b.cpuMs[i] ?? 0)) };
}

function score(v: Variant, threshold = v.threshold) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let positives = 0;
  const hallucinated: string[] = [];
  const wrongClass: string[] = [];
  for (const p of photos) {
    const dets = v.dets[p.name]!.filter((d) => d.score >= threshold);
    const m = matchDetections(dets, p.truth);
    tp += m.outcome.filter((o) => o === 'tp').length;
    fp += m.outcome.filter((o) => o === 'fp').length;
    fn += m.missed.length;
    positives += m.positives;
    const present = new Set(p.truth.flatMap((t) => [t.label, ...(t.also ?? [])]));
    for (const l of new Set(dets.map((d) => d.label))) if (!present.has(l)) hallucinated.push(`${l} (${p.name})`);
  }
  const ap = averagePrecision(photos.map((p) => ({ dets: v.dets[p.name]!, truth: p.truth })));
  const med = [...v.cpuMs].sort((x, y) => x - y)[Math.floor(v.cpuMs.length / 2)] ?? NaN;
  return { tp, fp, fn, positives, recall: tp / positives, precision: tp / Math.max(1, tp + fp), hallucinated, wrongClass, ap, cpu: med };
}

const ids = (arg('models') ?? 'centernet,ssd-mobilenet,nanodet').split(',');
const variants: Variant[] = [];
for (const id of ids) {
  const probe = createDetector(id, { acceptAgpl: true, warn: () => {} });
  if (!findModelFile(probe.pkg)) await fetchModelPackage(probe.pkg);
  if (id === 'ssd-mobilenet') {
    variants.push(await measure('ssd-mobilenet (one look)', () => createDetector(id, { secondLook: false }), 0.5));
    variants.push(await measure('ssd-mobilenet + mirrored look', () => createDetector(id, { secondLook: true }), 0.5));
  } else {
    variants.push(await measure(id, () => createDetector(id, { acceptAgpl: true, warn: () => {} }), probe.defaultMinScore));
  }
}
const one = variants.find((v) => v.name === 'ssd-mobilenet (one look)');
const cn = variants.find((v) => v.name === 'centernet');
if (one && cn) variants.push(ensemble('ssd-mobilenet + centernet fused', one, cn, 0.3));

const positives = photos.reduce((n, p) => n + p.truth.filter((t) => !t.difficult).length, 0);
console.log(`${photos.length} photos, ${positives} labelled objects (difficult ones excluded)\n`);
console.log('| detector | threshold | recall@IoU0.5 | precision | hallucinated labels | AP50 | CPU ms p50 |');
console.log('|---|---|---|---|---|---|---|');
for (const v of variants) {
  const s = score(v);
  console.log(
    `| ${v.name} | ${v.threshold} | ${s.tp}/${s.positives} (${s.recall.toFixed(2)}) | ${s.precision.toFixed(2)} | ${s.hallucinated.length}${s.hallucinated.length ? `: ${s.hallucinated.join(', ')}` : ''} | ${s.ap.toFixed(2)} | ${s.cpu.toFixed(0)} |`,
  );
}
console.log('\nThreshold sweep (recall / hallucinated labels):\n');
const ths = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8];
console.log(`| detector | ${ths.map((t) => `≥${t}`).join(' | ')} |`);
console.log(`|---|${ths.map(() => '---').join('|')}|`);
for (const v of variants) console.log(`| ${v.name} | ${ths.map((t) => { const s = score(v, t); return `${s.recall.toFixed(2)} / ${s.hallucinated.length}`; }).join(' | ')} |`);

console.log('\nCalibration (all variants with per-class scores): detections by score bin, share that are right (TP at IoU 0.5):\n');
for (const v of variants.filter((x) => x.name.startsWith('ssd'))) {
  const bins = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01];
  const rows: string[] = [];
  for (let i = 0; i + 1 < bins.length; i++) {
    let right = 0;
    let all = 0;
    for (const p of photos) {
      const dets = v.dets[p.name]!;
      const m = matchDetections(dets, p.truth);
      dets.forEach((d, k) => {
        if (d.score >= bins[i]! && d.score < bins[i + 1]! && m.outcome[k] !== 'ignored') {
          all++;
          if (m.outcome[k] === 'tp') right++;
        }
      });
    }
    rows.push(`${bins[i]}–${Math.min(1, bins[i + 1]!)}: ${right}/${all}`);
  }
  console.log(`- ${v.name}: ${rows.join('; ')}`);
}
if (arg('out')) writeFileSync(arg('out')!, JSON.stringify(variants.map((v) => ({ name: v.name, threshold: v.threshold, dets: v.dets, cpuMs: v.cpuMs }))));
console.log('\nDetections per photo at each threshold:\n');
for (const p of photos) {
  const cells = variants.map((v) => v.dets[p.name]!.filter((d) => d.score >= v.threshold).map((d) => `${d.label} ${d.score.toFixed(2)}${d.alternatives?.length ? ` (${d.alternatives.map((a) => `${a.label} ${a.score.toFixed(2)}`).join(', ')})` : ''}`).join(', ') || '—');
  console.log(`| ${p.name} | ${cells.join(' | ')} |`);
}
