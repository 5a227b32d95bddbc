/**
 * SAM's wide encoder session (src/vision/pool.ts, `--sam-wide-threads`): a 5-box segmentation
 * of a new photo through the vision pool (2 workers), alone and beside a loop of detections on
 * the same pool, with the wide session (the default) and without it (`--no-wide`), plus the
 * process's RSS at the end. Behind docs/detectors.md "SAM's encoder on every core". Run it with
 * nothing else on the machine, alternating the two settings:
 *
 *   npx tsx bench/sam-wide.ts; npx tsx bench/sam-wide.ts --no-wide; …
 */
import { readFileSync } from 'node:fs';
import { decodeImage } from '../src/media/decode.js';
import type { NormBox, RawImage } from '../src/vision/analysis.js';
import { DEFAULT_DETECTOR } from '../src/vision/detect/index.js';
import { VisionPool } from '../src/vision/pool.js';
import { fixturePath } from '../test/support/fixtures.js';
import { uniqueJpeg } from './lib/unique-jpeg.js';
import { median, sorted } from './lib/stats.js';

const RUNS = 6;
const wide = !process.argv.includes('--no-wide');
const bytes = readFileSync(fixturePath('person.jpg'));
const pool = new VisionPool({
  threads: 2,
  ...(wide ? {} : { wideEncoderThreads: 0 }),
  models: { detector: DEFAULT_DETECTOR, verifyLabels: true, segment: true, ocrLatin: false, ocrCjk: false, safety: true, people: false },
});
await pool.warm();
const boxes = Array.from({ length: 5 }, (_, i) => ({ box: [0.05 + i * 0.1, 0.1, 0.45 + i * 0.1, 0.9] as NormBox, label: 'object' }));
let n = 0;
/** The photo as a new JPEG, decoded afresh, with one pixel changed so the pool's cache of encoder outputs misses. */
const fresh = async (): Promise<RawImage> => {
  const img = await decodeImage(uniqueJpeg(bytes, ++n), { partLabel: 'bench', maxPixels: 1e8 });
  const rgb = Uint8Array.from(img.rgb);
  rgb[0] = n % 256;
  return { width: img.width, height: img.height, rgb };
};
const segment = async () => {
  const img = await fresh();
  const t = performance.now();
  const a = await pool.analyse(img, { segment: { boxes } });
  return { ms: performance.now() - t, threads: a.samEncodeThreads };
};
await segment();
const alone = [];
for (let i = 0; i < RUNS; i++) alone.push(await segment());
let stop = false;
let detections = 0;
const started = performance.now();
const loop = (async () => {
  while (!stop) {
    const img = await fresh();
    await Promise.all([pool.analyse(img, { detect: {} }), pool.analyse(img, { safety: true })]);
    detections++;
  }
})();
const beside = [];
for (let i = 0; i < RUNS; i++) beside.push(await segment());
stop = true;
await loop;
const perSecond = detections / ((performance.now() - started) / 1000);
const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
await pool.close();
const threads = (xs: Array<{ threads?: number | undefined }>) => [...new Set(xs.map((x) => x.threads))].join('/');
console.log(
  `${wide ? 'wide session when alone (default)' : 'one-thread encoder (--sam-wide-threads 0)'}: 5-box segmentation alone p50 ${median(sorted(alone.map((x) => x.ms))).toFixed(0)} ms ` +
    `(encoder threads ${threads(alone)}); beside a detection loop p50 ${median(sorted(beside.map((x) => x.ms))).toFixed(0)} ms (threads ${threads(beside)}), ` +
    `${perSecond.toFixed(1)} detections/s meanwhile; RSS ${rss.toFixed(0)} MiB`,
);
