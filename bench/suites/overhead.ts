/**
 * Suite 1: what Ocellus costs per request on top of Node's own HTTP stack.
 *
 * For each request shape, Ocellus answers once and its exact response (status, headers,
 * body) is captured; a bare node:http server in another process then answers every request
 * with those bytes after reading the whole body. Both are driven by the same raw-socket
 * load generator (lib/http-load.ts) in this process, alternately, so drift in machine load
 * hits both: concurrency 1 for latency (p50, p99), concurrency 16 for throughput.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildRequest,
  connectRetries,
  requestOnce,
  runAlternating,
  runLoad,
  type LoadResult,
  type LoadSpec,
  type Response,
} from '../lib/http-load.js';
import type { SuiteResult, Table } from '../lib/report.js';
import { makeMutator, slottedBody, type SlottedBody } from '../lib/unique-jpeg.js';
import { measurementEngineArgs, startBare, startOcellus, type OcellusChild } from '../lib/servers.js';
import { fmt, median, ms, quantile, ratio } from '../lib/stats.js';

export interface OverheadOptions {
  tmpDir: string;
  /** The fixture's bytes (test/support/fixtures.ts). */
  readFixture: (name: 'pixel-1x1.png' | 'dog.jpg') => Buffer;
  warmupMs: number;
  /** Measured time per server and concurrency, split into `slices` alternating slices. */
  durationMs: number;
  slices: number;
  log: (line: string) => void;
}

type Endpoint = 'generateContent' | 'countTokens';

interface Case {
  endpoint: Endpoint;
  image: 'pixel-1x1.png' | 'dog.jpg';
  mimeType: string;
  /** Every request carries different image bytes, so Ocellus' decode cache never hits. */
  unique: boolean;
  label: string;
}

const CASES: Case[] = [
  { endpoint: 'generateContent', image: 'pixel-1x1.png', mimeType: 'image/png', unique: false, label: 'generateContent, 1×1 PNG' },
  { endpoint: 'generateContent', image: 'dog.jpg', mimeType: 'image/jpeg', unique: false, label: 'generateContent, dog.jpg, same bytes each time' },
  { endpoint: 'generateContent', image: 'dog.jpg', mimeType: 'image/jpeg', unique: true, label: 'generateContent, dog.jpg, new bytes each time' },
  { endpoint: 'countTokens', image: 'pixel-1x1.png', mimeType: 'image/png', unique: false, label: 'countTokens, 1×1 PNG' },
  { endpoint: 'countTokens', image: 'dog.jpg', mimeType: 'image/jpeg', unique: false, label: 'countTokens, dog.jpg' },
];

const CONCURRENCY_LATENCY = 1;
const CONCURRENCY_THROUGHPUT = 16;
const MAX_REQUESTS = 2_000_000;
const TIMEOUT_MS = 30_000;
type Prepared = SlottedBody;

function prepareBody(c: Case, image: Buffer): Prepared {
  // What @google/genai sends: camelCase, a user turn with the image before the prompt.
  const json = (data: string) => JSON.stringify({ contents: [{ role: 'user', parts: [{ inlineData: { mimeType: c.mimeType, data } }, { text: 'Caption this image.' }] }] });
  return c.unique ? slottedBody(image, (jpeg) => json(jpeg.toString('base64'))) : { body: Buffer.from(json(image.toString('base64'))) };
}

/** The mutated request must still carry a JPEG that differs from the template only inside the comment. */
function checkMutation(template: Buffer, mutated: Buffer): void {
  const image = (req: Buffer): Buffer => {
    const m = /"data":"([^"]+)"/.exec(req.toString('latin1'));
    if (!m) throw new Error('no image data in the request');
    return Buffer.from(m[1]!, 'base64');
  };
  const a = image(template);
  const b = image(mutated);
  const diff = [...a.keys()].filter((i) => a[i] !== b[i]);
  if (a.length !== b.length || diff.length === 0 || b[0] !== 0xff || b[1] !== 0xd8)
    throw new Error('making the image unique did not work as intended');
  const comment = a.indexOf(Buffer.from([0xff, 0xfe]));
  if (diff.some((i) => i < comment + 4 || i >= comment + 4 + a.readUInt16BE(comment + 2) - 2))
    throw new Error('making the image unique changed bytes outside the JPEG comment');
}

const HOP_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

function captureFile(tmpDir: string, index: number, r: Response): string {
  const keepAlive = r.headers.find(([k]) => k === 'keep-alive')?.[1];
  const timeout = keepAlive ? /timeout=(\d+)/.exec(keepAlive)?.[1] : undefined;
  const file = path.join(tmpDir, `capture-${index}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      status: r.status,
      headers: Object.fromEntries(r.headers.filter(([k]) => !HOP_HEADERS.has(k))),
      body: r.body.toString('base64'),
      keepAliveTimeoutMs: timeout ? Number(timeout) * 1000 : 5000,
    }),
  );
  return file;
}

interface Row {
  label: string;
  requestBytes: number;
  ocellus: { c1: LoadResult; c16: LoadResult };
  bare: { c1: LoadResult; c16: LoadResult };
}

function check(r: LoadResult, who: string, c: Case): LoadResult {
  if (r.errors > 0) throw new Error(`${who} answered ${r.errors} of ${r.requests} requests of "${c.label}" wrongly: ${r.firstError}`);
  if (r.requests === 0) throw new Error(`${who} completed no request of "${c.label}" in the window`);
  return r;
}

export async function runOverhead(opts: OverheadOptions): Promise<Omit<SuiteResult, 'seconds' | 'cpu'>> {
  const dataDir = path.join(opts.tmpDir, 'overhead-data');
  const engineArgs = measurementEngineArgs();
  const server: OcellusChild = await startOcellus({
    dataDir,
    logFile: path.join(opts.tmpDir, 'overhead-ocellus.log'),
    extraArgs: engineArgs,
  });
  const retriesBefore = connectRetries;
  const rows: Row[] = [];
  try {
    const prepared = CASES.map((c) => prepareBody(c, opts.readFixture(c.image)));
    const requestFor = (c: Case, p: Prepared, port: number): Buffer =>
      buildRequest({
        port,
        path: `/v1beta/models/gemini-2.5-flash:${c.endpoint}`,
        headers: { 'Content-Type': 'application/json', 'x-goog-api-key': 'bench-key', 'User-Agent': 'ocellus-bench' },
        body: p.body,
      });

    // Warm-up of the whole server (JIT, the tokenizer's background load, sharp's thread
    // pool) before anything is captured: every case for a while, unmeasured.
    opts.log('  warming up Ocellus');
    for (const [i, c] of CASES.entries()) {
      const p = prepared[i]!;
      const first = await requestOnce(server.port, requestFor(c, p, server.port), { timeoutMs: TIMEOUT_MS });
      if (first.status !== 200) throw new Error(`Ocellus answered ${first.status} to "${c.label}": ${first.body.toString().slice(0, 400)}`);
      const r = await runLoad({
        port: server.port,
        request: requestFor(c, p, server.port),
        ...(p.slotChars !== undefined ? { mutate: makeMutator(p)! } : {}),
        concurrency: 2,
        warmupMs: 0,
        durationMs: Math.max(300, opts.warmupMs / 2),
        maxRequests: MAX_REQUESTS,
        timeoutMs: TIMEOUT_MS,
      });
      if (r.errors > 0) throw new Error(`Ocellus answered ${r.errors} warm-up requests of "${c.label}" wrongly: ${r.firstError}`);
    }

    for (const [i, c] of CASES.entries()) {
      const p = prepared[i]!;
      const ocellusRequest = requestFor(c, p, server.port);
      const mutate = makeMutator(p);
      const captureRequest = Buffer.from(ocellusRequest);
      if (mutate) {
        mutate(captureRequest);
        checkMutation(ocellusRequest, captureRequest);
      }
      const captured = await requestOnce(server.port, captureRequest, { timeoutMs: TIMEOUT_MS });
      if (captured.status !== 200)
        throw new Error(`Ocellus answered ${captured.status} to "${c.label}": ${captured.body.toString().slice(0, 400)}`);
      const bare = await startBare(captureFile(opts.tmpDir, i, captured));
      try {
        const bareRequest = requestFor(c, p, bare.port);
        const echo = await requestOnce(bare.port, bareRequest);
        if (echo.status !== captured.status || !echo.body.equals(captured.body))
          throw new Error(`the bare server did not replay the capture for "${c.label}"`);

        const spec = (port: number, request: Buffer, concurrency: number): LoadSpec => ({
          port,
          request,
          ...(mutate ? { mutate } : {}),
          concurrency,
          warmupMs: opts.warmupMs,
          durationMs: opts.durationMs,
          maxRequests: MAX_REQUESTS,
          timeoutMs: TIMEOUT_MS,
        });
        // Alternating slices, so a change in background load shows up in both columns.
        const pairAt = async (concurrency: number): Promise<[LoadResult, LoadResult]> => {
          const [o, b] = await runAlternating(
            spec(server.port, ocellusRequest, concurrency),
            spec(bare.port, bareRequest, concurrency),
            opts.slices,
          );
          return [check(o, 'Ocellus', c), check(b, 'bare http', c)];
        };
        const [o1, b1] = await pairAt(CONCURRENCY_LATENCY);
        const [o16, b16] = await pairAt(CONCURRENCY_THROUGHPUT);
        rows.push({ label: c.label, requestBytes: ocellusRequest.length, ocellus: { c1: o1, c16: o16 }, bare: { c1: b1, c16: b16 } });
        opts.log(
          `  ${c.label}: p50 ${ms(median(o1.latenciesMs))} vs ${ms(median(b1.latenciesMs))}, ` +
            `${fmt(o16.rps)} vs ${fmt(b16.rps)} req/s (${o1.requests + o16.requests} + ${b1.requests + b16.requests} requests)`,
        );
      } finally {
        await bare.stop();
      }
    }
  } catch (err) {
    throw new Error(`${(err as Error).message}\nOcellus log tail:\n${server.logTail()}`, { cause: err });
  } finally {
    await server.stop();
  }

  const kb = (n: number) => (n < 1024 ? `${n} B` : `${fmt(n / 1024)} KiB`);
  const table: Table = {
    head: [
      'request (body size)',
      'c=1 p50 Ocellus',
      'bare',
      'ratio',
      'c=1 p99 Ocellus',
      'bare',
      'ratio',
      'c=16 req/s Ocellus',
      'bare',
      'ratio',
    ],
    rows: rows.map((r) => {
      const p50o = median(r.ocellus.c1.latenciesMs);
      const p50b = median(r.bare.c1.latenciesMs);
      const p99o = quantile(r.ocellus.c1.latenciesMs, 0.99);
      const p99b = quantile(r.bare.c1.latenciesMs, 0.99);
      return [
        `${r.label} (${kb(r.requestBytes)})`,
        ms(p50o),
        ms(p50b),
        ratio(p50o, p50b),
        ms(p99o),
        ms(p99b),
        ratio(p99o, p99b),
        fmt(r.ocellus.c16.rps),
        fmt(r.bare.c16.rps),
        ratio(r.ocellus.c16.rps, r.bare.c16.rps),
      ];
    }),
  };
  const counts: Table = {
    head: ['request', 'c=1 requests Ocellus / bare', 'c=16 p50 Ocellus / bare', 'c=16 p99 Ocellus / bare'],
    rows: rows.map((r) => [
      r.label,
      `${r.ocellus.c1.requests.toLocaleString('en-US')} / ${r.bare.c1.requests.toLocaleString('en-US')}`,
      `${ms(median(r.ocellus.c16.latenciesMs))} / ${ms(median(r.bare.c16.latenciesMs))}`,
      `${ms(quantile(r.ocellus.c16.latenciesMs, 0.99))} / ${ms(quantile(r.bare.c16.latenciesMs, 0.99))}`,
    ]),
  };

  const added = rows.map(
    (r) => `${r.label}: Ocellus adds ${ms(median(r.ocellus.c1.latenciesMs) - median(r.bare.c1.latenciesMs))} at the median`,
  );
  return {
    title: 'Server overhead: generateContent and countTokens against bare node:http',
    method: [
      `Ocellus runs from the built \`dist/\` as \`node bin/ocellus.js serve${engineArgs.length ? ` ${engineArgs.join(' ')}` : ''}\` in a child process ` +
        '(otherwise default settings: log level `info`, logs to a file). ' +
        (engineArgs.length
          ? 'The measurement engine runs no models, so this suite measures the server around the engine (HTTP, parsing, decoding, token ' +
            'accounting, pixel measurements, the response), not model inference. '
          : '') +
        'For each request below it answers once, and its exact response (status, headers, body) is captured; a bare `node:http` server ' +
        '(`bench/bare-server.mjs`, another child process) then reads each request body to the end and answers those bytes. ' +
        'Both are driven by the same raw-socket HTTP/1.1 load generator in the bench process (`bench/lib/http-load.ts`: keep-alive connections, ' +
        'one request in flight per connection, latency from write to last byte in µs), in alternating slices (Ocellus, bare, Ocellus, …) ' +
        'after a warm-up of each. ' +
        'Concurrency 1 gives the latency percentiles, concurrency 16 the throughput. The ratio is Ocellus / bare, so above 1 is slower for latency ' +
        'and below 1 is fewer requests per second.',
      'Requests are what `@google/genai` sends: `{"contents":[{"role":"user","parts":[{"inlineData":{…}},{"text":"Caption this image."}]}]}` to ' +
        '`gemini-2.5-flash`. The 1×1 PNG is the smallest image there is (fixed per-request cost); `dog.jpg` (768×576, 160 KB, about 210 KB of base64) ' +
        'is a typical photo. "Same bytes" lets Ocellus\' decode cache answer after the first request (base64 parsing, hashing and the engine ' +
        'still run); "new bytes" rewrites 12 bytes of a JPEG comment segment in every request, so every request is decoded afresh. ' +
        'countTokens reads only the image header, never the pixels.',
      'The load generator, the server under test and its log writes share the cores, as a client on the same host would. At ' +
        'concurrency 16 the bare server\'s figure is bounded by this one-threaded client as much as by node:http, so it is a floor ' +
        'for what Node can do, and the ratio errs towards Ocellus.',
    ].join('\n\n'),
    tables: [table, counts],
    notes: [
      ...added,
      ...(connectRetries > retriesBefore
        ? [`${connectRetries - retriesBefore} connection attempt(s) were refused or reset and retried during this suite.`]
        : []),
      `Windows: ${fmt(opts.warmupMs / 1000)} s warm-up + ${fmt(opts.durationMs / 1000)} s measured per cell, in ${opts.slices} alternating slices; every response is checked for status 200.`,
    ],
  };
}
