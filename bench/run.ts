/**
 * `npm run bench`: builds, runs every benchmark suite, prints each table, and rewrites
 * docs/benchmarks.md with the results and the machine they were measured on.
 *
 *   npm run bench                       all suites (~5 min on 2 cores), rewrites the docs
 *   npm run bench -- --quick            short windows and a 64 MiB upload: checks the bench works; no docs
 *   npm run bench -- --only decode      some suites (overhead, upload, decode, vision, gateway, burst, soak, batch, scale); no docs
 *   npm run bench -- --skip-build       use dist/ as it is
 *   npm run bench -- --upload-mib 256   a smaller upload
 *   npm run bench -- --batch-n 200      images in the batch suite (default 1000; 20 with --quick)
 *   npm run bench -- --docs / --no-docs force writing docs/benchmarks.md, or not
 *
 * Standards this follows: speed and memory targets live here, not in timed tests; every
 * number comes with a baseline measured in the same run and the ratio to it; medians, not
 * means. Machine load is measured (see lib/machine.ts) and a run on a busy machine says so
 * in the docs.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify, parseArgs } from 'node:util';
import { DEFAULT_HEAP_GROWTH, setHeapGrowth } from '../src/heap-growth.js';
import { ensureFixtures, fixturePath, readFixture } from '../test/support/fixtures.js';
import { CpuMeter, describeMachine, describeShare, loadAverage, machineInfo, sampleOthers, type CpuShare } from './lib/machine.js';
import { markdownTable, type SuiteResult } from './lib/report.js';
import { REPO_ROOT } from './lib/servers.js';
import { GiB, MiB } from './lib/stats.js';
import { runDecode } from './suites/decode.js';
import { runGateway } from './suites/gateway.js';
import { runOverhead } from './suites/overhead.js';
import { runUpload } from './suites/upload.js';
import { runVision } from './suites/vision.js';
import { runBurst } from './suites/burst.js';
import { runSoak } from './suites/soak.js';
import { runBatchBench } from './suites/batch.js';
import { runScale } from './suites/scale.js';

const SUITES = ['overhead', 'upload', 'decode', 'vision', 'gateway', 'burst', 'soak', 'batch', 'scale'] as const;
type SuiteName = (typeof SUITES)[number];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'skip-build': { type: 'boolean', default: false },
    'upload-mib': { type: 'string' },
    'batch-n': { type: 'string' },
    docs: { type: 'boolean' },
    'no-docs': { type: 'boolean' },
  },
});

const selected: SuiteName[] = flags.only
  ? flags.only.split(',').map((s) => {
      const name = s.trim() as SuiteName;
      if (!SUITES.includes(name)) throw new Error(`unknown suite ${s}; choose from ${SUITES.join(', ')}`);
      return name;
    })
  : [...SUITES];
const quick = flags.quick ?? false;
const uploadBytes = flags['upload-mib'] ? Number(flags['upload-mib']) * MiB : quick ? 64 * MiB : GiB;
const writeDocs = flags['no-docs'] ? false : (flags.docs ?? (!quick && !flags.only && !flags['upload-mib']));
/** Background CPU above this share of all cores marks the run as measured under load. */
const BUSY_SHARE = 0.1;

const log = (line: string): void => void process.stdout.write(`${line}\n`);

const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-bench-'));
const cleanup = (): void => rmSync(tmpDir, { recursive: true, force: true });
process.once('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130)); // 'exit' handlers stop the servers

async function main(): Promise<void> {
  const started = performance.now();
  // The in-process baselines (models on the bench's own threads) get the garbage-collection
  // schedule the server they are compared with runs with by default.
  setHeapGrowth(DEFAULT_HEAP_GROWTH);
  const machine = machineInfo();
  log('# Ocellus benchmarks');
  for (const [k, v] of describeMachine(machine)) log(`${k}: ${v}`);
  const idle = await sampleOthers(2000);
  log(`other processes' CPU before starting (2 s sample): ${describeShare(idle)}`);
  if (quick) log('--quick: short windows, small upload; results are a smoke test, not numbers to keep');

  if (!flags['skip-build']) {
    log('\nnpm run build');
    try {
      await promisify(execFile)('npm', ['run', 'build'], { cwd: REPO_ROOT, maxBuffer: 16 * MiB, timeout: 5 * 60_000 });
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      throw new Error(`npm run build failed; the bench measures the built server, so it stops here.\n${e.stdout ?? ''}${e.stderr ?? e.message}`, {
        cause: err,
      });
    }
  }
  if (['overhead', 'decode', 'vision', 'gateway', 'burst', 'soak', 'batch', 'scale'].some((s) => selected.includes(s as SuiteName))) {
    log('fixtures: scripts/fetch-fixtures.sh');
    await ensureFixtures();
  }

  const results: SuiteResult[] = [];
  const run = async (name: SuiteName, body: () => Promise<Omit<SuiteResult, 'seconds' | 'cpu'>>): Promise<void> => {
    if (!selected.includes(name)) return;
    log(`\n## ${name} (load average ${loadAverage()})`);
    const t0 = performance.now();
    const meter = new CpuMeter();
    const r = await body();
    const cpu = meter.stop();
    const result: SuiteResult = { ...r, seconds: (performance.now() - t0) / 1000, cpu };
    results.push(result);
    log(`\n### ${result.title}\n`);
    for (const t of result.tables) log(`${markdownTable(t)}\n`);
    for (const n of result.notes) log(`- ${n}`);
    log(`- took ${result.seconds.toFixed(0)} s; other processes used ${describeShare(cpu)}`);
  };

  // The HTTP load suites share one measuring window: warm-up, then alternating slices.
  const loadWindow = { tmpDir, readFixture, warmupMs: quick ? 300 : 2000, durationMs: quick ? 700 : 6000, slices: quick ? 1 : 3, log };
  await run('overhead', () => runOverhead(loadWindow));
  await run('upload', () => runUpload({ tmpDir, totalBytes: uploadBytes, rounds: quick ? 1 : 3, log }));
  await run('decode', () =>
    runDecode({
      jpegPath: fixturePath('photo-12mp.jpg'),
      cacheDir: path.join(REPO_ROOT, 'bench', 'out'),
      minRuns: quick ? 3 : 12,
      maxRuns: quick ? 3 : 400,
      budgetMs: quick ? 0 : 5000,
      log,
    }),
  );
  await run('vision', () =>
    runVision({
      photoPath: fixturePath('person.jpg'),
      crowdPath: fixturePath('kite.jpg'),
      tmpDir,
      runs: quick ? 2 : 10,
      loadMs: quick ? 2000 : 15_000,
      log,
    }),
  );

  await run('gateway', () => runGateway(loadWindow));
  await run('burst', () =>
    runBurst({ photoPath: fixturePath('person.jpg'), tmpDir, concurrency: 200, queue: 32, threads: 2, rounds: quick ? 1 : 3, log }),
  );
  await run('soak', () => runSoak({ photoPath: fixturePath('person.jpg'), tmpDir, durationMs: quick ? 10_000 : 120_000, clients: 8, log }));
  await run('batch', () =>
    runBatchBench({
      photoPaths: (['dog.jpg', 'person.jpg', 'horses.jpg', 'giraffe.jpg', 'eagle.jpg', 'scream.jpg'] as const).map((p) => fixturePath(p)),
      tmpDir,
      n: flags['batch-n'] ? Number(flags['batch-n']) : quick ? 20 : 1000,
      threads: 2,
      log,
    }),
  );
  await run('scale', () =>
    runScale({
      photoPath: fixturePath('dog.jpg'),
      tmpDir,
      uploadBytes: (quick ? 16 : 64) * MiB,
      rounds: 3,
      requests: 50,
      log,
    }),
  );

  const totalSeconds = (performance.now() - started) / 1000;
  log(`\nall done in ${totalSeconds.toFixed(0)} s; load average now ${loadAverage()}`);
  // Every run, quick or not, also leaves its raw tables in bench/out/ (gitignored) for comparing runs.
  const outDir = path.join(REPO_ROOT, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'run-latest.json'), `${JSON.stringify({ machine, idle, quick, totalSeconds, results }, null, 2)}\n`);
  if (writeDocs) {
    const file = path.join(REPO_ROOT, 'docs', 'benchmarks.md');
    writeFileSync(file, renderDocs(machine, idle, results, totalSeconds));
    log(`wrote ${path.relative(REPO_ROOT, file)}`);
  } else {
    log('docs/benchmarks.md left as it is (partial, quick or --no-docs run)');
  }
}

function renderDocs(machine: ReturnType<typeof machineInfo>, idle: CpuShare | undefined, results: SuiteResult[], totalSeconds: number): string {
  const busySuites = results.filter((r) => (r.cpu?.othersShare ?? 0) > BUSY_SHARE);
  // Measured CPU use of other processes decides; the load average lags (a previous bench run
  // still shows in it) and is only reported.
  const busy = (idle?.othersShare ?? 0) > BUSY_SHARE || busySuites.length > 0;
  const conditions = busy
    ? `**Measured under load.** Other processes were busy during this run (load average ${machine.loadAtStart[0].toFixed(2)} at the start; ` +
      `other processes used ${((idle?.othersShare ?? 0) * 100).toFixed(0)}% of the cores just before it` +
      (busySuites.length
        ? `, and more than ${BUSY_SHARE * 100}% during suite${busySuites.length > 1 ? 's' : ''} ${busySuites.map((r) => results.indexOf(r) + 1).join(', ')}`
        : '') +
      '), so absolute numbers are pessimistic and noisier than on a quiet machine. Ratios are less affected, because each baseline ran ' +
      'alongside its subject. Re-run `npm run bench` on a quiet machine for numbers to compare against.'
    : `Measured on a quiet machine: load average ${machine.loadAtStart[0].toFixed(2)} at the start, and other processes used at most ` +
      `${(Math.max(idle?.othersShare ?? 0, ...results.map((r) => r.cpu?.othersShare ?? 0)) * 100).toFixed(0)}% of the cores during the run.`;

  const out: string[] = [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench` (bench/run.ts); edit the bench, not this file. -->',
    '',
    'Speed and memory targets live in these benchmarks, not in timed tests. Every number has a baseline measured in the same run ' +
      'on the same machine, and the ratio to it; latencies are medians and percentiles, not means. `npm run bench` builds `dist/`, ' +
      `runs every suite (this run took ${Math.round(totalSeconds / 60)} min) and rewrites this file; \`npm run bench -- --quick\` checks ` +
      'that the bench works without touching it. See `bench/run.ts` for the options.',
    '',
    '## Machine',
    '',
    markdownTable({ head: ['what', 'value'], rows: describeMachine(machine), align: ['left', 'left'] }),
    '',
    conditions,
    '',
  ];
  for (const [i, r] of results.entries()) {
    out.push(`## ${i + 1}. ${r.title}`, '', r.method, '');
    for (const t of r.tables) out.push(markdownTable(t), '');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push(`- The suite took ${r.seconds.toFixed(0)} s; other processes used ${describeShare(r.cpu)}.`, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
