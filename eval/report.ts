/**
 * docs/quality.md from the eval's results: the acceptance figures per detector side by side,
 * then the default detector's details (per photo, every wrong answer, counts, text), the
 * mask and rendered-text checks, and the safety section when there is one.
 */
import type { EvalResult } from './evaluate.js';
import type { LabelledResult } from './labelled.js';

export interface SafetySection {
  result: unknown;
  /** The safety module's own markdown for its section, when it provides one. */
  markdown?: string;
}

export interface ReportInput {
  results: Array<LabelledResult | { detector: string; error: string }>;
  defaultDetector: string;
  engine?: EvalResult;
  safety?: SafetySection;
  seconds: number;
  machine: string;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const frac = (a: number, b: number) => `${a}/${b} (${b ? pct(a / b) : '–'})`;
const cell = (s: string) => s.replace(/\|/g, '/').replace(/\n+/g, ' ⏎ ');
const clip = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const isResult = (r: ReportInput['results'][number]): r is LabelledResult => !('error' in r);

/** One row of the side-by-side table: the figure, the acceptance target, a value per detector. */
function row(name: string, target: string, results: ReportInput['results'], f: (r: LabelledResult) => string): string {
  return `| ${name} | ${target} | ${results.map((r) => (isResult(r) ? f(r) : '–')).join(' | ')} |`;
}

export function qualityReport(input: ReportInput): string {
  const { results, defaultDetector } = input;
  const main = results.find(isResult);
  const head = results.map((r) => `\`${r.detector}\`${r.detector === defaultDetector ? ' (default)' : ''}`);
  const lines = [
    '# Quality of the offline engine',
    '',
    `Measured by \`npm run eval\` on ${new Date().toISOString().slice(0, 10)} (${input.machine}); ${input.seconds.toFixed(0)} s in all.`,
    'The floor tests in `test/eval/` fail when these figures drop below their floors.',
    '',
    `**Set:** ${main?.photos ?? 0} real photos from Debian packages (darknet, python3-skimage, opencv-doc), not rendered samples, hand-labelled in [\`eval/labels.json\`](../eval/labels.json):`,
    'COCO boxes (tiny, blurred, occluded, painted or not-quite-COCO objects marked *difficult*: neither a hit nor a miss), counts,',
    'yes/no questions in English and Chinese (about a class, a supercategory, a count, a colour, a position, text, and things outside',
    "the 80 classes whose right answer is an honest \"can't tell\"), caption subjects, and the first lines of text pages and signs.",
    'Every answer is asked over HTTP from the real server (`createServer`), default settings except `--detector`.',
    '',
    '## Side by side',
    '',
    `| figure | acceptance | ${head.join(' | ')} |`,
    `|---|---|${results.map(() => '---').join('|')}|`,
    row('detection recall @ IoU 0.5', '≥ 0.9', results, (r) => `${r.detection.recall.toFixed(3)} (${r.detection.tp}/${r.detection.tp + r.detection.fn})`),
    row('detection precision @ IoU 0.5', '', results, (r) => `${r.detection.precision.toFixed(3)} (${r.detection.fp} FP)`),
    row('hallucinated labels', '0', results, (r) => `${r.detection.hallucinated}`),
    row('yes/no accuracy', '≥ 0.95', results, (r) => `${r.questions.accuracy.toFixed(3)} (${r.questions.right}/${r.questions.total})`),
    row('… expected Yes', '', results, (r) => frac(r.questions.byExpected.yes.right, r.questions.byExpected.yes.total)),
    row('… expected No', '', results, (r) => frac(r.questions.byExpected.no.right, r.questions.byExpected.no.total)),
    row("… expected can't tell", '', results, (r) => frac(r.questions.byExpected.unsure.right, r.questions.byExpected.unsure.total)),
    row('counts equal to the labels', '', results, (r) => frac(r.counts.matchLabel, r.counts.total)),
    row('counts equal to the detection answer', 'all', results, (r) => frac(r.counts.matchDetection, r.counts.total)),
    row('captions naming the subject', '', results, (r) => frac(r.captions.named, r.captions.withSubject)),
    row('classes captions name that are not there', '', results, (r) => `${r.captions.hallucinated}`),
    row('text read from the first character', 'all', results, (r) => frac(r.text.fromFirstCharacter, r.text.total)),
    row('answers blocked or empty (benign photos)', '0', results, (r) => `${r.blocked}`),
    row('eval time', '', results, (r) => `${r.seconds.toFixed(0)} s`),
  ];
  const rate = (input.safety?.result as { falseBlockRate?: { BLOCK_MEDIUM_AND_ABOVE?: number }; photos?: unknown[] } | undefined);
  if (typeof rate?.falseBlockRate?.BLOCK_MEDIUM_AND_ABOVE === 'number')
    lines.push(
      '',
      `Safety (detector-independent): **${pct(rate.falseBlockRate.BLOCK_MEDIUM_AND_ABOVE)}** of ${rate.photos?.length ?? '?'} benign photos would be blocked by a request setting \`BLOCK_MEDIUM_AND_ABOVE\` (acceptance: 0); without a setting nothing is blocked. Details below.`,
    );
  const failed = results.filter((r) => !isResult(r)) as Array<{ detector: string; error: string }>;
  if (failed.length) lines.push('', ...failed.map((f) => `\`${f.detector}\` did not run: ${cell(f.error)}`));

  if (main) {
    lines.push(
      '',
      `## Details: \`${main.detector}\``,
      '',
      '### Detection and captions per photo',
      '',
      '| photo | TP | FP | FN | hallucinated | missed | caption | subject named |',
      '|---|---|---|---|---|---|---|---|',
      ...main.perPhoto.map(
        (p) =>
          `| ${p.photo} | ${p.tp} | ${p.fp} | ${p.fn} | ${p.hallucinated.join(', ') || '–'} | ${p.missed.join(', ') || '–'} | ${cell(clip(p.caption ?? ''))} | ${p.subjectNamed === undefined ? '–' : p.subjectNamed ? 'yes' : '**no**'} |`,
      ),
      '',
      `### Yes/no questions answered wrong (${main.questions.total - main.questions.right} of ${main.questions.total})`,
      '',
      '| photo | question | expected | answer |',
      '|---|---|---|---|',
      ...main.questions.list.filter((q) => !q.right).map((q) => `| ${q.photo} | ${cell(q.q)} | ${q.expected === 'unsure' ? "can't tell" : q.expected} | ${cell(clip(q.answer))} |`),
      '',
      '### Counts',
      '',
      '| photo | question | answer | labelled | in the detection answer |',
      '|---|---|---|---|---|',
      ...main.counts.list.map(
        (c) => `| ${c.photo} | ${cell(c.q)} | ${cell(clip(c.answer, 100))} | ${c.matchesLabel ? 'equal' : '**differs**'} | ${c.detected}${c.matchesDetection ? '' : ' (**differs**)'} |`,
      ),
      '',
      '### Text pages and signs',
      '',
      '| photo | first line | read | from the first character |',
      '|---|---|---|---|',
      ...main.text.list.map((t) => `| ${t.photo} | ${cell(t.firstLine)} | ${cell(clip(t.read, 120))} | ${t.fromFirstCharacter ? 'yes' : '**no**'} |`),
    );
  }

  const e = input.engine;
  if (e?.masks) {
    lines.push(
      '',
      `## Segmentation masks (\`${e.detector}\`, darknet photos)`,
      '',
      `Mean mask IoU **${e.masks.meanIou.toFixed(3)}** over ${e.masks.count} objects: the mask the engine answers (SAM on the detector's box) against the reference mask (SAM on the hand-drawn box, checked by eye).`,
      '',
      '| photo | object: IoU |',
      '|---|---|',
      ...e.photos.map((p) => `| ${p.photo} | ${(p.maskIous ?? []).map((m) => `${m.label}: ${m.iou.toFixed(3)}`).join(', ') || '–'} |`),
    );
  }
  if (e?.ocr) {
    lines.push(
      '',
      '## Text reading on rendered text (English via tesseract.js, Chinese via PP-OCRv4, chosen by the prompt)',
      '',
      '| sample | reference | read | character accuracy |',
      '|---|---|---|---|',
      ...e.ocr.map((o) => `| ${o.name} | ${o.text} | ${o.read} | ${pct(o.accuracy)} |`),
      '',
      'Character accuracy ignores spaces for Chinese, which is written without them.',
    );
  }
  if (input.safety) {
    lines.push('', '## Safety on benign photos', '');
    lines.push(input.safety.markdown ?? ['```json', JSON.stringify(input.safety.result, null, 2), '```'].join('\n'));
  }
  return `${lines.join('\n')}\n`;
}
