/**
 * Suite "burst": admission control under a burst. 200 captions sent at once, each on its
 * own connection, to a real `ocellus serve --vision-queue 32` child with the offline
 * models; `/healthz` is polled on its own connection all through the burst.
 *
 * What it reports per round, then the median over rounds: the most requests admitted at
 * once (the pool's count in /healthz; the target is at most 32 + threads: captions that
 * finish free their place, so on a slow burst more than that are answered in all), how
 * many captions were answered, how many were refused with 429 and
 * how many of those carried `Retry-After`, anything else (must be 0), the admitted
 * captions' latency, and `/healthz` p50/p99 during the burst. The baseline, measured in the
 * same run against the same child: `/healthz` with nothing else going on, and one caption
 * alone. The server's own longest event-loop delay (its /healthz reports it) tells a loop
 * held by this process from a machine that did not give it the CPU.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { buildRequest, requestOnce } from '../lib/http-load.js';
import type { SuiteResult } from '../lib/report.js';
import { startOcellus } from '../lib/servers.js';
import { fmt, median, ms, quantile, ratio, sorted } from '../lib/stats.js';

export interface BurstOptions {
  photoPath: string;
  tmpDir: string;
  /** Captions sent at once. */
  concurrency: number;
  /** `--vision-queue` of the child. */
  queue: number;
  /** `--vision-threads` of the child. */
  threads: number;
  rounds: number;
  log: (line: string) => void;
}

interface Round {
  admitted: number;
  refused: number;
  withRetryAfter: number;
  other: Map<number, number>;
  captionMs: number[];
  healthMs: number[];
  /** Most requests the pool held admitted at once, as /healthz reported during the burst. */
  maxAdmitted: number;
  wallMs: number;
  /** The server's own longest event-loop delay over the burst (from /healthz), ms; NaN if it does not report it. */
  loopMaxMs: number;
}

/** Two of the server's loop-delay windows (src/server/loop-delay.ts: 10 s each), and a second to spare. */
const LOOP_WINDOWS_MS = 21_000;

const captionBody = (image: Buffer): string =>
  JSON.stringify({
    contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/jpeg', data: image.toString('base64') } }, { text: 'Caption this image.' }] }],
  });

/**
 * The /healthz prober, in a worker thread of its own: the bench's main thread is busy
 * sending 200 bodies and reading 200 answers, and a prober sharing its event loop measured
 * that (a 10 s "health" latency while the server's own loop was never held > 130 ms).
 * Fresh connection per probe, as a load balancer would, 5 ms apart; also records the
 * highest `vision.admitted` the server reported.
 */
const PROBER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
let stop = false;
parentPort.on('message', () => (stop = true));
const latencies = [];
let maxAdmitted = 0;
const once = () => new Promise((resolve, reject) => {
  const t = performance.now();
  const req = http.get({ host: '127.0.0.1', port: workerData.port, path: '/healthz', agent: false }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      if (res.statusCode !== 200) return reject(new Error('/healthz answered ' + res.statusCode));
      latencies.push(performance.now() - t);
      try { maxAdmitted = Math.max(maxAdmitted, JSON.parse(Buffer.concat(chunks).toString()).vision?.admitted ?? 0); } catch {}
      resolve();
    });
  });
  req.on('error', reject);
  req.setTimeout(30000, () => req.destroy(new Error('/healthz timed out')));
});
(async () => {
  while (!stop) {
    await once();
    await new Promise((r) => setTimeout(r, 5));
  }
  parentPort.postMessage({ latencies, maxAdmitted });
})().catch((err) => parentPort.postMessage({ error: String(err) }));
`;

/** Probes /healthz from a worker thread until `stop` resolves. */
async function pollHealth(port: number, stop: Promise<void>): Promise<{ latencies: number[]; maxAdmitted: number }> {
  const worker = new Worker(PROBER, { eval: true, workerData: { port } });
  const result = new Promise<{ latencies: number[]; maxAdmitted: number }>((resolve, reject) => {
    worker.once('message', (m: { latencies: number[]; maxAdmitted: number; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    worker.once('error', reject);
  });
  await stop;
  worker.postMessage('stop');
  try {
    return await result;
  } finally {
    await worker.terminate();
  }
}

/** `eventLoopDelay.maxMs` from /healthz (the last 10 s window and the current one). */
async function loopMax(port: number): Promise<number> {
  const r = await requestOnce(port, buildRequest({ method: 'GET', port, path: '/healthz' }), { timeoutMs: 30_000 });
  try {
    const v = (JSON.parse(r.body.toString()) as { eventLoopDelay?: { maxMs?: number } }).eventLoopDelay?.maxMs;
    return typeof v === 'number' ? v : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export async function runBurst(o: BurstOptions): Promise<Omit<SuiteResult, 'seconds' | 'cpu'>> {
  const photo = readFileSync(o.photoPath);
  const dataDir = path.join(o.tmpDir, 'burst-data');
  // No analysis cache: every caption of the burst sends the same photo, and each must run the models as new photos do.
  const args = ['--vision-queue', String(o.queue), '--vision-threads', String(o.threads), '--no-segment', '--no-ocr', '--no-people', '--analysis-cache', '0', '--log-level', 'warn'];
  o.log(`burst: starting ocellus serve ${args.join(' ')} (loads and warms the detector and the safety model)`);
  const child = await startOcellus({ dataDir, logFile: path.join(o.tmpDir, 'burst.log'), extraArgs: args });
  const port = child.port;
  const caption = buildRequest({ port, path: '/v1beta/models/gemini-2.5-flash:generateContent', body: captionBody(photo), headers: { 'Content-Type': 'application/json' } });
  try {
    // Baselines: /healthz alone, one caption alone.
    const idleStop = sleep(3000);
    const idleHealth = (await pollHealth(port, idleStop)).latencies;
    const alone: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const r = await requestOnce(port, caption, { timeoutMs: 120_000 });
      if (r.status !== 200) throw new Error(`a caption alone answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
      alone.push(performance.now() - t);
    }
    o.log(`burst: baseline /healthz p50 ${ms(median(sorted(idleHealth)))}, one caption ${ms(median(sorted(alone)))}`);

    const rounds: Round[] = [];
    for (let k = 0; k < o.rounds; k++) {
      // The server reports its longest delay over its last full 10 s window and the current
      // one, so a reading taken after a round covers up to 20 s before it: the loop is left
      // idle that long first, and the reading is the round's own (not the cold first caption
      // of the baseline, nor the round before).
      await sleep(LOOP_WINDOWS_MS);
      let finish!: () => void;
      const finished = new Promise<void>((r) => (finish = r));
      const health = pollHealth(port, finished);
      const round: Round = { admitted: 0, refused: 0, withRetryAfter: 0, other: new Map(), captionMs: [], healthMs: [], maxAdmitted: 0, wallMs: 0, loopMaxMs: NaN };
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          const t = performance.now();
          const r = await requestOnce(port, caption, { timeoutMs: 300_000 });
          if (r.status === 200) {
            round.admitted++;
            round.captionMs.push(performance.now() - t);
          } else if (r.status === 429) {
            round.refused++;
            if (r.headers.some(([h, v]) => h === 'retry-after' && Number(v) >= 1)) round.withRetryAfter++;
          } else round.other.set(r.status, (round.other.get(r.status) ?? 0) + 1);
        }),
      );
      round.wallMs = performance.now() - t0;
      finish();
      const probed = await health;
      round.healthMs = probed.latencies;
      round.maxAdmitted = probed.maxAdmitted;
      round.loopMaxMs = await loopMax(port);
      rounds.push(round);
      const other = [...round.other].map(([s, n]) => `${n}×${s}`).join(', ') || 'none';
      o.log(
        `burst round ${k + 1}: ${round.admitted} answered, at most ${round.maxAdmitted} admitted at once, ${round.refused} × 429 (${round.withRetryAfter} with Retry-After), other: ${other}; ` +
          `/healthz p99 ${ms(quantile(sorted(round.healthMs), 0.99))} over ${round.healthMs.length} probes; ${ms(round.wallMs)}; ` +
          `server's longest event-loop delay ${ms(round.loopMaxMs)}`,
      );
    }

    const med = (f: (r: Round) => number) => median(sorted(rounds.map(f)));
    const healthAll = sorted(rounds.flatMap((r) => r.healthMs));
    const captionsAll = sorted(rounds.flatMap((r) => r.captionMs));
    const idle = sorted(idleHealth);
    const otherTotal = rounds.reduce((n, r) => n + [...r.other.values()].reduce((a, b) => a + b, 0), 0);
    return {
      title: `Burst: ${o.concurrency} concurrent captions against --vision-queue ${o.queue}`,
      method:
        `${o.concurrency} \`generateContent\` captions of a 640-pixel JPEG sent at once, each on its own connection, to a real ` +
        `\`ocellus serve --vision-queue ${o.queue} --vision-threads ${o.threads}\` (detector and safety model; SAM, OCR and people models off ` +
        `so start-up is short: a caption needs neither), ${o.rounds} rounds, each after 21 s of idle so the server\'s longest event-loop delay (two 10 s windows) is the round\'s own. \`GET /healthz\` is polled on fresh connections, 5 ms apart, ` +
        'all through each burst. Baselines from the same child in the same run: `/healthz` polled for 3 s with nothing else going on, ' +
        'and one caption at a time. Admission counts requests, not model tasks (a caption is two: safety and detection).',
      tables: [
        {
          head: ['what', 'median of rounds', 'target'],
          rows: [
            ['most admitted at once (/healthz vision.admitted)', fmt(med((r) => r.maxAdmitted)), `≤ ${o.queue + o.threads}`],
            ['captions answered 200', fmt(med((r) => r.admitted)), ''],
            ['refused with 429', fmt(med((r) => r.refused)), 'the rest'],
            ['… of those with Retry-After', fmt(med((r) => r.withRetryAfter)), 'all'],
            ['other statuses (all rounds)', String(otherTotal), '0'],
            ['whole burst, wall clock', ms(med((r) => r.wallMs)), ''],
            ["server's longest event-loop delay (its /healthz)", ms(med((r) => r.loopMaxMs)), '< 50 ms'],
          ],
        },
        {
          head: ['latency', 'p50', 'p99', 'max', 'baseline p50', 'p50 ratio'],
          rows: [
            ['/healthz during the burst', ms(median(healthAll)), ms(quantile(healthAll, 0.99)), ms(healthAll[healthAll.length - 1] ?? NaN), ms(median(idle)), ratio(median(healthAll), median(idle))],
            ['admitted caption', ms(median(captionsAll)), ms(quantile(captionsAll, 0.99)), ms(captionsAll[captionsAll.length - 1] ?? NaN), ms(median(sorted(alone))), ratio(median(captionsAll), median(sorted(alone)))],
          ],
        },
      ],
      notes: [
        `/healthz p99 during the burst: ${ms(quantile(healthAll, 0.99))} (target < 50 ms) over ${healthAll.length} probes; idle p99 ${ms(quantile(idle, 0.99))}.`,
        'Admitted captions wait their turn for one of the model threads, so their latency grows with the queue: about (queue ÷ threads) × one caption.',
      ],
    };
  } finally {
    await child.stop();
  }
}
