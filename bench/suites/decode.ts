/**
 * Suite 3: how long Ocellus' checked decode takes for a 12-megapixel JPEG and HEIC, against
 * the decoding library alone doing the least it can.
 *
 * Runs in the bench process on src/media/decode.ts directly (no HTTP). Each subject and its
 * baseline alternate run by run, so a burst of background load hits both. Every run gets a
 * fresh copy of the bytes (copied outside the timed part), as a new request would, so
 * libvips' operation cache cannot answer from an earlier run.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { decodeImage, inspectImage } from '../../src/media/decode.js';
import type { SuiteResult, Table } from '../lib/report.js';
import { fmt, median, ms, quantile, ratio, sorted } from '../lib/stats.js';

export interface DecodeOptions {
  /** The 4000×3000 JPEG fixture. */
  jpegPath: string;
  /** Where the derived 12 MP HEIC is cached (bench/out/, gitignored). */
  cacheDir: string;
  minRuns: number;
  maxRuns: number;
  /** Stop adding runs (beyond minRuns) once a row has taken this long. */
  budgetMs: number;
  log: (line: string) => void;
}

type HeicDecode = (input: { buffer: Uint8Array }) => Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
const heicDecode = createRequire(import.meta.url)('heic-decode') as HeicDecode;

/** Makes (once) a 12 MP HEIC from the 12 MP JPEG with heif-enc, as the fixture script makes dog.heic. */
export async function ensureHeic12mp(jpegPath: string, cacheDir: string, log: (l: string) => void): Promise<string> {
  const out = path.join(cacheDir, 'photo-12mp.heic');
  if (existsSync(out)) return out;
  await mkdir(cacheDir, { recursive: true });
  const tmp = path.join(cacheDir, `.photo-12mp.${process.pid}.heic`);
  log('  encoding photo-12mp.heic with heif-enc -q 60 (once; cached in bench/out/)');
  try {
    await promisify(execFile)('heif-enc', ['-q', '60', jpegPath, '-o', tmp], { timeout: 5 * 60_000 });
  } catch (err) {
    await rm(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    throw new Error(
      e.code === 'ENOENT'
        ? 'heif-enc is not installed; apt-get install libheif-examples (scripts/fetch-fixtures.sh does this too)'
        : `heif-enc failed: ${e.message}`,
      { cause: err },
    );
  }
  await rename(tmp, out);
  return out;
}

interface Timed {
  label: string;
  times: Float64Array;
}

/** Alternates a and b, warm-up runs first, until both have minRuns and the budget is spent (or maxRuns). */
async function pair(
  a: { label: string; run: (bytes: Buffer) => Promise<unknown> },
  b: { label: string; run: (bytes: Buffer) => Promise<unknown> },
  bytes: Buffer,
  opts: DecodeOptions,
): Promise<[Timed, Timed]> {
  const ta: number[] = [];
  const tb: number[] = [];
  const time = async (fn: (bytes: Buffer) => Promise<unknown>): Promise<number> => {
    const copy = Buffer.from(bytes);
    const t0 = performance.now();
    await fn(copy);
    return performance.now() - t0;
  };
  for (let i = 0; i < 2; i++) {
    await time(a.run);
    await time(b.run);
  }
  const start = performance.now();
  while (ta.length < opts.maxRuns && (ta.length < opts.minRuns || performance.now() - start < opts.budgetMs)) {
    ta.push(await time(a.run));
    tb.push(await time(b.run));
  }
  return [
    { label: a.label, times: sorted(ta) },
    { label: b.label, times: sorted(tb) },
  ];
}

export async function runDecode(opts: DecodeOptions): Promise<Omit<SuiteResult, 'seconds' | 'cpu'>> {
  const heicPath = await ensureHeic12mp(opts.jpegPath, opts.cacheDir, opts.log);
  const jpeg = await readFile(opts.jpegPath);
  const heic = await readFile(heicPath);
  const check = { partLabel: 'bench', maxPixels: 100_000_000 };

  const jpegMeta = await sharp(jpeg).metadata();
  const heicInfo = await inspectImage(heic, check);
  const describe = (name: string, w: number, h: number, bytes: Buffer) => `${name} ${w}×${h}, ${fmt(bytes.length / 1024 / 1024)} MB`;
  const jpegName = describe('JPEG', jpegMeta.width, jpegMeta.height, jpeg);
  const heicName = describe('HEIC', heicInfo.width, heicInfo.height, heic);

  const rows: { image: string; op: string; subject: Timed; base: Timed }[] = [];
  const add = async (image: string, op: string, bytes: Buffer, a: Parameters<typeof pair>[0], b: Parameters<typeof pair>[1]) => {
    const [subject, base] = await pair(a, b, bytes, opts);
    rows.push({ image, op, subject, base });
    opts.log(`  ${image} ${op}: ${ms(median(subject.times))} vs ${ms(median(base.times))} (${subject.times.length} runs)`);
  };

  await add(jpegName, 'full decode', jpeg,
    { label: '`decodeImage`', run: (b) => decodeImage(b, check) },
    { label: '`sharp(bytes).raw().toBuffer()`', run: (b) => sharp(b).raw().toBuffer() });
  await add(jpegName, 'header only', jpeg,
    { label: '`inspectImage`', run: (b) => inspectImage(b, check) },
    { label: '`sharp(bytes).metadata()`', run: (b) => sharp(b).metadata() });
  await add(heicName, 'full decode', heic,
    { label: '`decodeImage`', run: (b) => decodeImage(b, check) },
    { label: '`heic-decode` in the calling thread', run: (b) => heicDecode({ buffer: b }) });
  await add(heicName, 'header only', heic,
    { label: '`inspectImage`', run: (b) => inspectImage(b, check) },
    { label: '`sharp(bytes).metadata()`', run: (b) => sharp(b).metadata() });

  const table: Table = {
    head: ['image', 'operation', 'Ocellus', 'median', 'p95', 'baseline', 'median', 'p95', 'ratio (medians)', 'runs'],
    align: ['left', 'left', 'left', 'right', 'right', 'left', 'right', 'right', 'right', 'right'],
    rows: rows.map((r) => [
      r.image,
      r.op,
      r.subject.label,
      ms(median(r.subject.times)),
      ms(quantile(r.subject.times, 0.95)),
      r.base.label,
      ms(median(r.base.times)),
      ms(quantile(r.base.times, 0.95)),
      ratio(median(r.subject.times), median(r.base.times)),
      String(r.subject.times.length),
    ]),
  };
  return {
    title: 'Decode: 12-megapixel JPEG and HEIC',
    method: [
      '`decodeImage` and `inspectImage` from `src/media/decode.ts`, called directly in the bench process (no HTTP, no cache). ' +
        '`decodeImage` sniffs the format, hashes the bytes (sha256), reads the header, checks the pixel limit, then decodes to upright ' +
        '8-bit sRGB (EXIF orientation, alpha flattened, colour space converted). `inspectImage` does the same up to and including ' +
        'the header read (the hash too) and decodes no pixels: what countTokens needs.',
      'Images: `photo-12mp.jpg` from the test fixtures (`test/support/fixtures.ts`: kite.jpg upscaled with grain) and a HEIC made from it ' +
        'with `heif-enc -q 60` (cached in `bench/out/`). Baselines in the same run: the decoding library doing the least it can. For JPEG that is ' +
        '`sharp(bytes).raw().toBuffer()`. sharp\'s prebuilt libvips cannot decode HEVC, so for HEIC it is `heic-decode` (the wasm libheif ' +
        'Ocellus uses) called in the bench\'s own thread, without Ocellus\' worker thread and colour conversion around it.',
      `Subject and baseline alternate run by run after two warm-up runs each; at least ${opts.minRuns} runs each. Every run gets a fresh copy of the bytes, as a new request would.`,
    ].join('\n\n'),
    tables: [table],
    notes: [
      'A ratio above ×1 is Ocellus\' own work on top of the library: checks, hashing, orientation, colour conversion and, for HEIC, the copy to and from the decoder thread.',
    ],
  };
}
