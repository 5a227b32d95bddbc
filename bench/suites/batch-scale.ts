/**
 * Second part of suite "batch": the same N-image detection file batch on the scale-out
 * stack, worked by 1 and by 3 `ocellus serve` replicas sharing one PostgreSQL (the job
 * queue: leased claims, src/batch/pg-store.ts) and one S3 store (Swift's s3api; the photos
 * and the responses file). Order 1 → 3 → 1 replicas on the same database and bucket, so the
 * one-replica baseline brackets the three-replica run on the same machine conditions; the
 * ratio is three replicas' images/s over the mean of the two one-replica runs.
 *
 * On a machine with fewer cores than replicas × model threads, three replicas cannot be
 * faster than one (they share the CPU); the ratio then shows what the shared queue costs
 * (claims, lease renewals, state checks in PostgreSQL, polling) and how evenly the work
 * spreads. Each replica runs the settings of the single-server part of the suite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ensureInstalled } from '../../test/support/scale/install.js';
import { startPostgres } from '../../test/support/scale/postgres.js';
import { startSwift } from '../../test/support/scale/swift.js';
import { createDatabase, storageUrlOf } from '../../test/support/scale/databases.js';
import type { Table } from '../lib/report.js';
import { startOcellus, type OcellusChild } from '../lib/servers.js';
import { fmt, ratio } from '../lib/stats.js';
import { detectRequest, timeFileBatch, uploadPhotos, uploadRequests } from '../lib/batch-client.js';

export interface BatchScaleOptions {
  photoPaths: string[];
  tmpDir: string;
  n: number;
  threads: number;
  log: (line: string) => void;
  start?: typeof startOcellus;
}

export interface BatchScaleResult {
  table: Table;
  notes: string[];
  method: string;
}

export async function runBatchScale(opts: BatchScaleOptions): Promise<BatchScaleResult> {
  const start = opts.start ?? startOcellus;
  const concurrency = 2 * opts.threads;
  await ensureInstalled();
  const root = mkdtempSync(path.join(os.tmpdir(), 'ocellus-bench-batch-scale-'));
  const started = await Promise.allSettled([startPostgres(root), startSwift(root)]);
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const replicas: OcellusChild[] = [];
  const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  try {
    const failed = started.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    if (failed.length > 0) throw new Error(`scale servers failed to start:\n${failed.map((e) => e.message).join('\n')}`);
    const [pgS, swiftS] = started.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
      Awaited<ReturnType<typeof startPostgres>>,
      Awaited<ReturnType<typeof startSwift>>,
    ];
    // The S3 credentials reach the children through their environment, as for any S3 tool.
    process.env.AWS_ACCESS_KEY_ID = swiftS.s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = swiftS.s3.secretAccessKey;
    const databaseUrl = await createDatabase(pgS.url, 'bench_batch');
    const storageUrl = storageUrlOf(swiftS.s3, `bench-batch-${randomBytes(4).toString('hex')}`);
    const flags = [
      // No analysis cache, as in batch.ts: the requests cycle over a few photos.
      '--vision-threads', String(opts.threads), '--batch-concurrency', String(concurrency), '--no-segment', '--no-ocr', '--analysis-cache', '0', '--log-level', 'warn',
      '--database-url', databaseUrl, '--storage-url', storageUrl,
    ];
    const replica = async (i: number) => {
      const r = await start({ dataDir: path.join(root, `replica-${i}`), logFile: path.join(opts.tmpDir, `batch-replica-${i}.log`), extraArgs: flags });
      replicas.push(r);
      return r;
    };
    const warm = async (r: OcellusChild, uris: string[]) => {
      for (let i = 0; i < uris.length; i++) {
        const res = await fetch(`http://127.0.0.1:${r.port}/v1beta/models/gemini-2.5-flash:generateContent`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(detectRequest(uris, i)),
        });
        if (!res.ok) throw new Error(`warm-up: ${res.status} ${await res.text()}`);
      }
    };

    const first = await replica(1);
    const uris = await uploadPhotos(first.port, opts.photoPaths);
    const input = await uploadRequests(first.port, uris, opts.n);
    await warm(first, uris);
    const runs: Array<{ label: string; replicas: number; seconds: number; failed: number }> = [];
    const measure = async (label: string, on: OcellusChild[]) => {
      const r = await timeFileBatch(on[0]!.port, input, on.map((o) => o.port));
      runs.push({ label, replicas: on.length, ...r });
      opts.log(`  ${label}: ${opts.n} requests in ${r.seconds.toFixed(1)} s`);
    };

    await measure('1 replica (before)', [first]);
    const more = [await replica(2), await replica(3)];
    for (const r of more) await warm(r, uris);
    await measure('3 replicas', [first, ...more]);
    for (const r of more) await r.stop();
    replicas.splice(1);
    await measure('1 replica (after)', [first]);

    const rate = (s: number) => opts.n / s;
    const ones = runs.filter((r) => r.replicas === 1);
    const baseRate = ones.reduce((a, r) => a + rate(r.seconds), 0) / ones.length;
    const three = runs.find((r) => r.replicas === 3)!;
    return {
      method:
        `**Scale-out:** PostgreSQL 15 and Swift (s3api) on loopback; each replica \`ocellus serve --vision-threads ${opts.threads} ` +
        `--batch-concurrency ${concurrency} --no-segment --no-ocr --analysis-cache 0 --database-url … --storage-url …\`. The photos and the same ${opts.n}-request ` +
        'JSONL file are uploaded once; the file batch is created on the first replica and polled round-robin on all of them, run on ' +
        '1, then 3, then 1 replica (the two extra replicas warmed with each photo once, then stopped for the last run).',
      table: {
        head: ['scale-out (PostgreSQL + S3)', 'seconds', 'images/s', 'failed', 'vs 1 replica (mean of both)'],
        rows: runs.map((r) => [r.label, fmt(r.seconds), fmt(rate(r.seconds)), String(r.failed), ratio(rate(r.seconds), baseRate)]),
      },
      notes: [
        `3 replicas ÷ 1 replica on the shared queue: ${ratio(rate(three.seconds), baseRate)} images/s (` +
          (os.cpus().length < 3 * opts.threads
            ? `${os.cpus().length} cores shared by all replicas, fewer than 3 replicas × ${opts.threads} model threads: more replicas bring no more CPU, ` +
              'so a ratio near ×1 says the shared queue (claims, leases, state checks in PostgreSQL) costs little; it cannot show scaling'
            : 'each replica has model threads of its own') +
          `). One-replica runs: ${ones.map((r) => fmt(r.seconds)).join(' s and ')} s (their spread is the machine's noise).`,
      ],
    };
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    else process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
    if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    else process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(root, { recursive: true, force: true });
  }
}
