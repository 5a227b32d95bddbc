/**
 * Suite "batch": images per second for an N-image detection batch against the same N
 * requests sent one by one to generateContent, at 1, 2 and 4 clients (the best of them is
 * the baseline), all against one real `ocellus serve` child with the offline detector.
 *
 * The photos go up once through the Files API and every request names its photo by
 * `fileData`, so the batch (a JSONL file batch, as `ocellus label` sends) and the direct
 * requests carry the very same request bodies; the server's image cache helps both alike.
 * The batch's time runs from the create call to the poll that sees BATCH_STATE_SUCCEEDED
 * (polled every 200 ms). The child runs `--batch-concurrency` at twice its model threads,
 * like the best client count one by one: a request is decoded and prepared while the one
 * before it is on a model thread (measured on 24 images, loaded machine: at concurrency
 * = threads the batch matched 2 clients, ×0.82 of 4). The default (1) is for servers that
 * also answer interactive requests.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import type { SuiteResult } from '../lib/report.js';
import { startOcellus } from '../lib/servers.js';
import { fmt, ratio } from '../lib/stats.js';
import { detectRequest, timeFileBatch, uploadPhotos, uploadRequests } from '../lib/batch-client.js';
import { runBatchScale } from './batch-scale.js';

export interface BatchBenchOptions {
  /** Photos to cycle through (small JPEGs). */
  photoPaths: string[];
  tmpDir: string;
  /** Requests in the batch, and sent directly at each client count. */
  n: number;
  threads: number;
  log: (line: string) => void;
  /** Starts the server (default: the built `ocellus serve`); for runs against src/ through tsx. */
  start?: typeof startOcellus;
  /** Also run the batch on 1 vs 3 replicas sharing PostgreSQL + S3 (batch-scale.ts). Default true. */
  scaleOut?: boolean;
}

const CLIENTS = [1, 2, 4];

export async function runBatchBench(opts: BatchBenchOptions): Promise<Omit<SuiteResult, 'seconds' | 'cpu'>> {
  const start = opts.start ?? startOcellus;
  const concurrency = 2 * opts.threads;
  const server = await start({
    dataDir: path.join(opts.tmpDir, 'batch-data'),
    logFile: path.join(opts.tmpDir, 'batch.log'),
    // No analysis cache: the requests cycle over a few photos, and a batch of distinct images runs the models for each.
    extraArgs: ['--vision-threads', String(opts.threads), '--batch-concurrency', String(concurrency), '--no-segment', '--no-ocr', '--analysis-cache', '0', '--log-level', 'warn'],
  });
  const base = `http://127.0.0.1:${server.port}/v1beta`;
  const post = async (p: string, body: unknown) => {
    const res = await fetch(`${base}/${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`POST ${p}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  try {
    const uris = await uploadPhotos(server.port, opts.photoPaths);
    const request = (i: number) => detectRequest(uris, i);

    // Warm-up: every photo once, so model loading is in neither measurement.
    for (let i = 0; i < uris.length; i++) await post('models/gemini-2.5-flash:generateContent', request(i));

    const direct: Array<{ clients: number; seconds: number; failed: number }> = [];
    for (const clients of CLIENTS) {
      let next = 0;
      let failed = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          for (let i = next++; i < opts.n; i = next++) await post('models/gemini-2.5-flash:generateContent', request(i)).catch(() => failed++);
        }),
      );
      direct.push({ clients, seconds: (performance.now() - t0) / 1000, failed });
      opts.log(`  one by one, ${clients} client(s): ${opts.n} requests in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }

    const inputName = await uploadRequests(server.port, uris, opts.n);
    const { seconds: batchSeconds, failed: batchFailed } = await timeFileBatch(server.port, inputName);
    opts.log(`  batch: ${opts.n} requests in ${batchSeconds.toFixed(1)} s`);

    const rate = (s: number) => opts.n / s;
    const best = direct.reduce((a, b) => (rate(b.seconds) > rate(a.seconds) ? b : a));
    await server.stop(); // the scale-out part starts its own replicas on the same cores
    const scaled = opts.scaleOut === false ? undefined : await runBatchScale(opts);
    return {
      title: `Batch mode: ${opts.n}-image detection batch vs the same requests one by one`,
      method:
        `One \`ocellus serve --vision-threads ${opts.threads} --batch-concurrency ${concurrency} --no-segment --no-ocr --analysis-cache 0\` child with the offline detector ` +
        '(no analysis cache, so each request runs the models as a distinct image would, though the requests cycle over a few photos). ' +
        `${uris.length} packaged photos uploaded once; ${opts.n} detection requests naming them by fileData, sent one by one to generateContent ` +
        `by ${CLIENTS.join(', ')} clients in turn (the best is the baseline), then as one JSONL file batch, timed from create to the poll that sees it succeeded.` +
        (scaled ? ` ${scaled.method}` : ''),
      tables: [
        {
          head: ['how', 'seconds', 'images/s', 'failed', 'vs best one by one'],
          rows: [
            ...direct.map((d) => [`one by one, ${d.clients} client${d.clients > 1 ? 's' : ''}`, fmt(d.seconds), fmt(rate(d.seconds)), String(d.failed), ratio(rate(d.seconds), rate(best.seconds))]),
            [`batch (concurrency ${concurrency})`, fmt(batchSeconds), fmt(rate(batchSeconds)), String(batchFailed), ratio(rate(batchSeconds), rate(best.seconds))],
          ],
        },
        ...(scaled ? [scaled.table] : []),
      ],
      notes: [
        `Batch ÷ best one by one (${best.clients} client${best.clients > 1 ? 's' : ''}): ${ratio(rate(batchSeconds), rate(best.seconds))} images/s.`,
        'The batch pays for durability (each request claimed and its answer written to SQLite, WAL with synchronous=NORMAL) and up to 200 ms of polling at the end; it needs no client connections.',
        ...(scaled?.notes ?? []),
      ],
    };
  } finally {
    await server.stop();
  }
}
