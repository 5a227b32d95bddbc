/**
 * `npm run eval`: measures the offline engine's quality and writes docs/quality.md.
 *
 *   npm run eval                                   # every detector the server accepts, side by side
 *   npm run eval -- --detector ssd-mobilenet       # one (or a comma-separated list)
 *   npm run eval -- --detector default --no-docs   # the server's default only; print, do not write docs
 *
 * Each detector gets its own server (the real one, over HTTP) and the whole labelled set
 * (eval/labels.json); the first one named also gets the mask and rendered-text checks
 * (eval/evaluate.ts) and the benign-photo safety check (eval/safety.ts, when present).
 */
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { loadConfig } from '../src/config.js';
import { ensureFixtures } from '../test/support/fixtures.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { evaluateLabelled, type LabelledResult } from './labelled.js';
import { qualityReport, type SafetySection } from './report.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The detector ids `--detector` accepts, read from the config's own validation message. */
function acceptedDetectors(): string[] {
  try {
    loadConfig({ detector: '?' } as never, {});
  } catch (err) {
    const m = /detector must be ([^.\n]+)/.exec(String((err as Error).message));
    if (m) return m[1]!.split(/,\s*|\s+or\s+/).map((s) => s.trim()).filter((s) => s && s !== 'none');
  }
  return ['centernet', 'ssd-mobilenet', 'nanodet', 'yolov5s'];
}

/** The benign-photo safety check, if the safety module is there (it is optional to this script). */
async function safety(log: (s: string) => void): Promise<SafetySection | undefined> {
  const file = new URL('./safety.ts', import.meta.url);
  if (!existsSync(file)) return undefined;
  const mod = (await import(file.href)) as Record<string, unknown>;
  const run = Object.values(mod).find((v): v is () => Promise<unknown> => typeof v === 'function' && /^(evaluate|measure|run)Safety$/.test((v as { name: string }).name));
  if (!run) {
    log('eval/safety.ts exports no evaluateSafety(); skipping the safety section');
    return undefined;
  }
  const result = await run();
  const markdown = Object.values(mod).find((v): v is (r: unknown) => string => typeof v === 'function' && /^safety(Markdown|Report|Section)$/.test((v as { name: string }).name));
  return { result, markdown: markdown ? markdown(result) : undefined };
}

const log = (s: string) => console.log(s);
const named = arg('detector');
const defaultDetector = loadConfig({}, {}).vision.detector ?? 'none';
const detectors =
  named === undefined || named === 'all'
    ? [defaultDetector, ...acceptedDetectors().filter((d) => d !== defaultDetector)]
    : named.split(',').map((d) => (d === 'default' ? defaultDetector : d));

await ensureFixtures();
const started = performance.now();
const results: Array<LabelledResult | { detector: string; error: string }> = [];
for (const detector of detectors) {
  try {
    results.push(await evaluateLabelled({ detector, log }));
  } catch (err) {
    // A detector whose weights are not installed is reported as such, not a failed eval.
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    log(`${detector}: ${message}`);
    results.push({ detector, error: message });
  }
}
let engine: EvalResult | undefined;
if (defaultDetector !== 'none') engine = await evaluate({ detector: detectors[0] ?? defaultDetector, captions: false }, log);
const safetySection = await safety(log);
const text = qualityReport({
  results,
  defaultDetector,
  engine,
  safety: safetySection,
  seconds: (performance.now() - started) / 1000,
  machine: `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)} at the end`,
});
if (!process.argv.includes('--no-docs')) writeFileSync(new URL('../docs/quality.md', import.meta.url), text);
console.log(`\n${text}`);
