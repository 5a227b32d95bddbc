/**
 * Suite 2: a 1 GiB resumable upload through the real server process, chunked like the
 * SDKs (8 MiB), against the disk's own speed measured in the same run.
 *
 * The bytes are generated: one random 8 MiB buffer whose first 8 bytes are overwritten
 * with the chunk number, sent 128 times. Nothing of that size is stored in the repo.
 */
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SuiteResult, Table } from '../lib/report.js';
import { measurementEngineArgs, procMemory, startOcellus, type ProcMemory } from '../lib/servers.js';
import { fmt, GiB, MiB, mib, ratio } from '../lib/stats.js';

export interface UploadOptions {
  tmpDir: string;
  /** Total bytes to upload; a multiple of the chunk size. Default 1 GiB. */
  totalBytes: number;
  /** Rounds of (baseline, upload, baseline); medians are reported. */
  rounds: number;
  log: (line: string) => void;
}

const CHUNK = 8 * MiB;
const REQUEST_TIMEOUT_MS = 120_000;

/** The upload's bytes, chunk by chunk; the same buffer is reused (callers finish with it first). */
export function* chunks(totalBytes: number): Generator<{ offset: number; data: Buffer; last: boolean }> {
  const buf = Buffer.alloc(CHUNK);
  randomFillSync(buf);
  for (let offset = 0; offset < totalBytes; offset += CHUNK) {
    const n = Math.min(CHUNK, totalBytes - offset);
    buf.writeBigUInt64BE(BigInt(offset / CHUNK), 0);
    yield { offset, data: n === CHUNK ? buf : buf.subarray(0, n), last: offset + n >= totalBytes };
  }
}

interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function post(agent: http.Agent, url: URL, headers: Record<string, string>, body: Buffer): Promise<HttpResult> {
  if (url.hostname !== '127.0.0.1') throw new Error(`refusing to upload to ${url.hostname}`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'Content-Length': String(body.length) }, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A system-wide `sync` (untimed) before each writer, so none of them pays for write-back
 * left over by the one before it. Skipped where there is no `sync` command.
 */
async function flushDirtyPages(): Promise<void> {
  await promisify(execFile)('sync', [], { timeout: 120_000 }).catch(() => undefined);
}

interface DiskRun {
  seconds: number;
}

/** fs.createWriteStream with backpressure; `flush` fsyncs before close, so the time includes reaching the disk. */
async function writeStreamBaseline(file: string, totalBytes: number): Promise<DiskRun> {
  const t0 = performance.now();
  const out = createWriteStream(file, { flush: true, highWaterMark: CHUNK });
  for (const { data } of chunks(totalBytes)) {
    if (!out.write(data)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  const seconds = (performance.now() - t0) / 1000;
  await rm(file, { force: true });
  return { seconds };
}

/** Positional writes + fdatasync after each 8 MiB chunk: the durability the server gives each chunk request. */
async function syncPerChunkBaseline(file: string, totalBytes: number): Promise<DiskRun> {
  const t0 = performance.now();
  const fh = await open(file, 'w');
  try {
    for (const { offset, data } of chunks(totalBytes)) {
      let done = 0;
      while (done < data.length) done += (await fh.write(data, done, data.length - done, offset + done)).bytesWritten;
      await fh.datasync();
    }
  } finally {
    await fh.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  await rm(file, { force: true });
  return { seconds };
}

/** Waits (at most 5 s) until the process' RSS stops moving by more than 1 MiB per 250 ms. */
async function settle(pid: number): Promise<void> {
  let last = procMemory(pid).rssBytes;
  for (let i = 0; i < 20; i++) {
    await sleep(250);
    const now = procMemory(pid).rssBytes;
    if (Math.abs(now - last) < MiB) return;
    last = now;
  }
}

interface ServerRun {
  seconds: number;
  /** Time of the last request: its 8 MiB plus commit and inspection. */
  finalizeSeconds: number;
  before: ProcMemory;
  /** After every chunk but the last: the streaming path's peak. */
  beforeFinalize: ProcMemory;
  after: ProcMemory;
  state: string;
  stateMessage: string;
}

async function serverUpload(opts: UploadOptions): Promise<ServerRun> {
  const dataDir = path.join(opts.tmpDir, 'upload-data');
  const server = await startOcellus({
    dataDir,
    logFile: path.join(opts.tmpDir, 'upload-ocellus.log'),
    extraArgs: [
      ...measurementEngineArgs(),
      '--max-file-bytes',
      String(opts.totalBytes * 2),
      '--max-project-bytes',
      String(opts.totalBytes * 4),
    ],
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    // The server loads the Gemma tokenizer in the background after start-up (~+225 MiB RSS
    // for good). A text-only countTokens waits for it, so "before" is the settled server.
    const warm = await post(
      agent,
      new URL(`http://127.0.0.1:${server.port}/v1beta/models/gemini-2.5-flash:countTokens`),
      { 'Content-Type': 'application/json', 'x-goog-api-key': 'bench-key' },
      Buffer.from(JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Caption this image.' }] }] })),
    );
    if (warm.status !== 200) throw new Error(`countTokens answered ${warm.status}: ${warm.body}`);
    await settle(server.pid);
    const before = procMemory(server.pid);
    const t0 = performance.now();
    const start = await post(
      agent,
      new URL(`http://127.0.0.1:${server.port}/upload/v1beta/files`),
      {
        'Content-Type': 'application/json',
        'x-goog-api-key': 'bench-key',
        'X-Goog-Upload-Protocol': 'resumable',
        'X-Goog-Upload-Command': 'start',
        'X-Goog-Upload-Header-Content-Length': String(opts.totalBytes),
        'X-Goog-Upload-Header-Content-Type': 'application/octet-stream',
      },
      Buffer.from(JSON.stringify({ file: { displayName: 'bench-upload.bin' } })),
    );
    const uploadUrl = start.headers['x-goog-upload-url'];
    if (start.status !== 200 || typeof uploadUrl !== 'string')
      throw new Error(`resumable start answered ${start.status}: ${start.body}`);

    let beforeFinalize: ProcMemory | undefined;
    let finalizeSeconds = 0;
    let final: HttpResult | undefined;
    for (const { offset, data, last } of chunks(opts.totalBytes)) {
      if (last) beforeFinalize = procMemory(server.pid);
      const t = performance.now();
      const r = await post(
        agent,
        new URL(uploadUrl),
        { 'X-Goog-Upload-Command': last ? 'upload, finalize' : 'upload', 'X-Goog-Upload-Offset': String(offset) },
        data,
      );
      if (r.status !== 200) throw new Error(`chunk at ${offset} answered ${r.status}: ${r.body.slice(0, 400)}`);
      const want = last ? 'final' : 'active';
      if (r.headers['x-goog-upload-status'] !== want)
        throw new Error(`chunk at ${offset}: X-Goog-Upload-Status ${String(r.headers['x-goog-upload-status'])}, expected ${want}`);
      if (last) {
        finalizeSeconds = (performance.now() - t) / 1000;
        final = r;
      }
      if (offset > 0 && offset % (256 * MiB) === 0) opts.log(`  uploaded ${offset / MiB} MiB`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = procMemory(server.pid);
    const file = (JSON.parse(final?.body ?? '{}') as { file?: { sizeBytes?: string; state?: string; error?: { message?: string } } }).file;
    if (Number(file?.sizeBytes) !== opts.totalBytes) throw new Error(`finalized file has sizeBytes ${file?.sizeBytes}, expected ${opts.totalBytes}`);
    return {
      seconds,
      finalizeSeconds,
      before,
      beforeFinalize: beforeFinalize ?? after,
      after,
      state: file?.state ?? 'unknown',
      stateMessage: file?.error?.message ?? '',
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\nOcellus log tail:\n${server.logTail()}`, { cause: err });
  } finally {
    agent.destroy();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function runUpload(opts: UploadOptions): Promise<Omit<SuiteResult, 'seconds' | 'cpu'>> {
  if (opts.totalBytes % CHUNK !== 0 || opts.totalBytes <= 0) throw new Error(`upload size must be a positive multiple of ${CHUNK}`);
  const file = path.join(opts.tmpDir, 'disk-baseline.bin');
  // Rounds of baseline, server, other baseline, each server fresh: drift in the disk's or
  // the machine's load lands on every writer, and the medians of the rounds are reported.
  const streams: DiskRun[] = [];
  const servers: ServerRun[] = [];
  const syncs: DiskRun[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    opts.log(`  round ${round}/${opts.rounds}: baseline fs.createWriteStream`);
    await flushDirtyPages();
    streams.push(await writeStreamBaseline(file, opts.totalBytes));
    opts.log(`  round ${round}/${opts.rounds}: Ocellus resumable upload of ${mib(opts.totalBytes)}`);
    await flushDirtyPages();
    servers.push(await serverUpload(opts));
    opts.log(`  round ${round}/${opts.rounds}: baseline write + fdatasync per chunk`);
    await flushDirtyPages();
    syncs.push(await syncPerChunkBaseline(file, opts.totalBytes));
  }
  const mid = <T extends { seconds: number }>(runs: T[]): T => [...runs].sort((a, b) => a.seconds - b.seconds)[(runs.length - 1) >> 1]!;
  const stream = mid(streams);
  const synced = mid(syncs);
  const srv = mid(servers);
  // Memory: the round with the highest peak, so a one-off is not hidden by the median.
  const peak = servers.reduce((a, b) => (b.after.hwmBytes - b.before.rssBytes > a.after.hwmBytes - a.before.rssBytes ? b : a));

  const mbps = (seconds: number) => opts.totalBytes / MiB / seconds;
  const size = opts.totalBytes === GiB ? '1 GiB' : mib(opts.totalBytes);
  const throughput: Table = {
    head: [`writer (median of ${opts.rounds} round${opts.rounds > 1 ? 's' : ''})`, 'time', 'MiB/s', 'Ocellus MiB/s ÷ this'],
    rows: [
      [`Ocellus resumable upload, ${opts.totalBytes / CHUNK} × 8 MiB chunks (start to final response)`, `${fmt(srv.seconds)} s`, fmt(mbps(srv.seconds)), ''],
      ['baseline: `fs.createWriteStream` of the same bytes, fsync at close', `${fmt(stream.seconds)} s`, fmt(mbps(stream.seconds)), ratio(mbps(srv.seconds), mbps(stream.seconds))],
      ['baseline: positional writes + `fdatasync` every 8 MiB (the server syncs each chunk)', `${fmt(synced.seconds)} s`, fmt(mbps(synced.seconds)), ratio(mbps(srv.seconds), mbps(synced.seconds))],
    ],
  };
  const memory: Table = {
    head: [`Ocellus server process${opts.rounds > 1 ? ' (the round with the highest peak)' : ''}`, 'RSS', 'peak RSS (VmHWM)'],
    rows: [
      ['before the upload (started, tokenizer loaded, idle)', mib(peak.before.rssBytes), mib(peak.before.hwmBytes)],
      ['after all chunks but the last', mib(peak.beforeFinalize.rssBytes), mib(peak.beforeFinalize.hwmBytes)],
      ['after the finalize response', mib(peak.after.rssBytes), mib(peak.after.hwmBytes)],
    ],
  };
  const streamingGrowth = peak.beforeFinalize.hwmBytes - peak.before.rssBytes;
  const totalGrowth = peak.after.hwmBytes - peak.before.rssBytes;
  return {
    title: `Upload: ${size} resumable upload, throughput and peak memory`,
    method: [
      `A fresh Ocellus (built \`dist/\`, ${measurementEngineArgs().length ? `\`${measurementEngineArgs().join(' ')}\` (no models in memory), ` : ''}` +
        `\`--max-file-bytes ${opts.totalBytes * 2}\`, temporary \`--data-dir\`, deleted afterwards) receives a ` +
        `${size} resumable upload exactly as the SDKs send it: \`X-Goog-Upload-Protocol: resumable\` + \`Command: start\` + ` +
        '`X-Goog-Upload-Header-Content-Length`, then `upload` chunks of 8 MiB with `X-Goog-Upload-Offset`, the last one `upload, finalize`, ' +
        'one at a time over one keep-alive connection (node:http client). The bytes are generated on the fly (a random 8 MiB buffer, ' +
        'numbered per chunk), never stored in the repo. Memory is the server process\' `VmRSS` and `VmHWM` from `/proc/<pid>/status`.',
      'Baselines in the same run, in the bench process, on the same file system: the same bytes through `fs.createWriteStream` ' +
        '(fsync before close, so the disk is reached), and positional writes with an `fdatasync` after every 8 MiB, which is the ' +
        'durability the server gives each chunk before acknowledging it. Each writer starts after a system-wide `sync`, so none pays ' +
        'for write-back left by the one before, and the whole sequence runs in several rounds (a fresh server each time).',
      `The file is declared \`application/octet-stream\` and is random bytes, so the finalize response says \`${srv.state}\`` +
        (srv.stateMessage ? ` ("${srv.stateMessage.slice(0, 160)}")` : '') +
        '. That is expected: the upload path is what is measured, and the bytes are committed and counted either way.',
    ].join('\n\n'),
    tables: [throughput, memory],
    notes: [
      `Peak RSS growth over the pre-upload RSS while streaming the chunks: ${mib(streamingGrowth)}; including the finalize request: ${mib(totalGrowth)}.`,
      ...(totalGrowth - streamingGrowth > opts.totalBytes / 2
        ? [
            `The finalize request raised the peak by ${mib(totalGrowth - streamingGrowth)}, on the order of the file itself: inspecting the ` +
              'stored upload holds it in memory, so peak memory grows with the largest file uploaded rather than with the chunk size.',
          ]
        : []),
      `The finalize request (last 8 MiB, commit, then inspection of the stored file) took ${fmt(srv.finalizeSeconds)} s of the ${fmt(srv.seconds)} s.`,
      ...(opts.rounds > 1
        ? [
            `All rounds, in order: Ocellus ${servers.map((r) => fmt(mbps(r.seconds))).join(', ')} MiB/s; createWriteStream ` +
              `${streams.map((r) => fmt(mbps(r.seconds))).join(', ')} MiB/s; fdatasync per chunk ${syncs.map((r) => fmt(mbps(r.seconds))).join(', ')} MiB/s.`,
          ]
        : []),
    ],
  };
}
