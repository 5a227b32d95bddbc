/**
 * The closer look (src/vision/detect/closer-look.ts) on the eval's labelled photos: every asserted
 * box whose class is in doubt after the label check, and the label the closer look gives it at
 * several margins, against the hand labels; then its cost on the bench's photo. The figures
 * behind docs/detectors.md "The closer look".
 *
 *   npx tsx bench/closer-look.ts                      # the default, ssd-mobilenet and centernet
 *   npx tsx bench/closer-look.ts --detector centernet
 */
import { readFileSync } from 'node:fs';
import { loadLabels, photoFile } from '../eval/labelled.js';
import { decodeImage } from '../src/media/decode.js';
import { classInDoubt, closerRegion, closerVerdict, cutRegion, lookAgainWith } from '../src/vision/detect/closer-look.js';
import { followUp } from '../src/vision/detect/follow-up.js';
import { createDetector, DEFAULT_DETECTOR, iou } from '../src/vision/detect/index.js';
import { CropVerifier } from '../src/vision/detect/verify-crop.js';
import { evalPhotoPath } from '../test/support/fixtures.js';

const MARGINS = [0.1, 0.2, 0.3, 0.4, 0.5];
const arg = process.argv.indexOf('--detector');
const detectors = arg >= 0 ? [process.argv[arg + 1]!] : [DEFAULT_DETECTOR, 'ssd-mobilenet', 'centernet'];

/** The pixels the server's models get. */
const decode = (file: string) => decodeImage(readFileSync(file), { partLabel: file, maxPixels: 1e8 });
const verifier = new CropVerifier();
const labels = loadLabels();

for (const id of detectors) {
  const detector = createDetector(id);
  const look = lookAgainWith(detector);
  console.log(`\n${id}: boxes in doubt after the label check; the closer look's label at margins ${MARGINS.join(', ')} (✗ = not the labelled class)`);
  for (const [name, photo] of Object.entries(labels.photos)) {
    const img = await decode(photoFile(name, photo));
    const found = (await followUp(img, await detector.detect(img), { verifier, threshold: detector.defaultMinScore })).detections;
    for (const d of found.filter((x) => classInDoubt(x, detector.defaultMinScore))) {
      const truth = photo.objects.map((t) => ({ t, v: iou(d.box, t.box) })).sort((a, b) => b.v - a.v)[0];
      const right = truth && truth.v >= 0.3 ? [truth.t.label, ...(truth.t.also ?? [])] : [];
      const cells: string[] = [];
      for (const m of MARGINS) {
        const r = closerRegion(img.width, img.height, d.box, m);
        const v = closerVerdict(d, await look(await cutRegion(img, r)), r.box, detector.defaultMinScore);
        cells.push(`${v.label} ${v.score.toFixed(2)}${right.includes(v.label) ? '' : ' ✗'}`);
      }
      const proposed = (d.alternatives ?? []).map((a) => a.label).join(', ');
      console.log(`  ${name} ${d.label} ${d.score.toFixed(2)} [${proposed}] truth ${right.join('/') || '–'}${truth?.t.difficult ? ' (difficult)' : ''} | ${cells.join(' | ')}`);
    }
  }
  detector.dispose();
}

// Cost on the bench's photo, one thread: the detection, then the closer look at its boxes in doubt.
const detector = createDetector(DEFAULT_DETECTOR, { intraOpThreads: 1 });
const img = await decode(evalPhotoPath('person.jpg', 'darknet'));
const times = { detect: [] as number[], closer: [] as number[] };
let looked = 0;
for (let i = 0; i < 31; i++) {
  let t = performance.now();
  const found = await detector.detect(img);
  times.detect.push(performance.now() - t);
  looked = found.filter((d) => classInDoubt(d, detector.defaultMinScore)).length;
  t = performance.now();
  await followUp(img, found, { look: lookAgainWith(detector), threshold: detector.defaultMinScore });
  times.closer.push(performance.now() - t);
}
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1);
console.log(`\nperson.jpg, one thread, 31 runs: ${DEFAULT_DETECTOR} detection p50 ${p50(times.detect)} ms; closer look at its ${looked} boxes in doubt p50 ${p50(times.closer)} ms`);
detector.dispose();
verifier.dispose();
