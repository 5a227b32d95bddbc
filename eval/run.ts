/**
 * `npm run eval`: measures the offline engine's quality and writes docs/quality.md.
 * Options: --detector <id> (default centernet).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { ensureFixtures } from '../test/support/fixtures.js';
import { evaluate, type EvalResult } from './evaluate.js';

const detector = process.argv.includes('--detector') ? process.argv[process.argv.indexOf('--detector') + 1] : 'centernet';
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function report(r: EvalResult, seconds: number): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    '# Quality of the offline engine',
    '',
    `Measured by \`npm run eval\` on ${new Date().toISOString().slice(0, 10)}: ${cpu}, ${os.cpus().length} cores, Node ${process.version}; ${seconds.toFixed(0)} s.`,
    `Detector: \`${r.detector}\`. Photos: Debian's darknet samples, hand-labelled in \`test/vision/detect/ground-truth.json\`.`,
    'The floor tests in `test/eval/floors.test.ts` fail when these numbers drop below their floors.',
    '',
    '## Detection (IoU ≥ 0.5, difficult objects ignored)',
    '',
    `Precision **${pct(r.detection.precision)}**, recall **${pct(r.detection.recall)}** (TP ${r.detection.tp}, FP ${r.detection.fp}, FN ${r.detection.fn}).`,
    '',
    '| photo | TP | FP | FN | false labels |',
    '|---|---|---|---|---|',
    ...r.photos.map((p) => `| ${p.photo} | ${p.tp} | ${p.fp} | ${p.fn} | ${p.wrongLabels.join(', ') || '–'} |`),
  ];
  if (r.captions) {
    lines.push(
      '',
      '## Captions',
      '',
      `Mention recall **${pct(r.captions.mentionRecall)}** (objects of the ground truth that the caption names); hallucinated object classes: **${r.captions.hallucinated}** (classes named that are not in the photo).`,
      '',
      '| photo | caption | expected | hallucinated |',
      '|---|---|---|---|',
      ...r.photos.map((p) => `| ${p.photo} | ${p.caption?.replace(/\|/g, '/')} | ${p.expected?.join(', ')} | ${p.hallucinated?.join(', ') || '–'} |`),
    );
  }
  if (r.masks) {
    lines.push(
      '',
      '## Segmentation masks',
      '',
      `Mean mask IoU **${r.masks.meanIou.toFixed(3)}** over ${r.masks.count} objects: the mask the server answers (SAM on the detector's box) against the reference mask (SAM on the hand-drawn box, checked by eye).`,
      '',
      '| photo | object: IoU |',
      '|---|---|',
      ...r.photos.map((p) => `| ${p.photo} | ${(p.maskIous ?? []).map((m) => `${m.label}: ${m.iou.toFixed(3)}`).join(', ') || '–'} |`),
    );
  }
  if (r.ocr) {
    lines.push(
      '',
      '## Text reading (rendered text: English via tesseract.js, Chinese via PP-OCRv4, chosen by the prompt)',
      '',
      '| sample | reference | read | character accuracy |',
      '|---|---|---|---|',
      ...r.ocr.map((o) => `| ${o.name} | ${o.text} | ${o.read} | ${pct(o.accuracy)} |`),
      '',
      'Character accuracy ignores spaces for Chinese, which is written without them.',
    );
  }
  return `${lines.join('\n')}\n`;
}

await ensureFixtures();
const started = performance.now();
const result = await evaluate({ detector: detector ?? 'centernet' }, (s) => console.log(s));
const text = report(result, (performance.now() - started) / 1000);
writeFileSync(new URL('../docs/quality.md', import.meta.url), text);
console.log(`\n${text}`);
