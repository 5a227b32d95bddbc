/**
 * Suite `scale`: Ocellus scaled out (PostgreSQL metadata + S3 file bytes on Swift's s3api),
 * each number against a baseline measured in the same run:
 *
 * 1. An N MiB resumable upload through Ocellus (8 MiB chunks, `--storage-url` on the Swift S3
 *    endpoint, `--database-url`) vs the same bytes put into the same bucket directly with
 *    `@aws-sdk/client-s3` multipart (8 MiB parts). Rounds alternate; medians; ratio Ocellus/direct.
 * 2. generateContent (`--engine measurements`) on a stored 640×480 photo named by fileData, 50
 *    requests at c=1, PostgreSQL + S3 vs the default SQLite + filesystem server; p50/p90, ratio.
 *
 * PostgreSQL 15, Redis 7 and Swift are installed (if needed) and started with the test-support
 * helpers in a temp dir, stopped by PID at the end, and the temp dir removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { ensureInstalled } from '../../test/support/scale/install.js';
import { startPostgres, type RunningPostgres } from '../../test/support/scale/postgres.js';
import { startRedis, type RunningRedis } from '../../test/support/scale/redis.js';
import { s3Client, startSwift, type RunningSwift } from '../../test/support/scale/swift.js';
import { createDatabase, storageUrlOf } from '../../test/support/scale/databases.js';
import { chunks } from './upload.js';
import type { SuiteResult } from '../lib/report.js';
import { startOcellus, type OcellusChild } from '../lib/servers.js';
import { fmt, median, MiB, mib, ms, quantile, ratio, sorted } from '../lib/stats.js';

export interface ScaleOptions {
  /** A JPEG the 640×480 photo is made from. */
  photoPath: string;
  tmpDir: string;
  /** Bytes of the upload; a multiple of 8 MiB. */
  uploadBytes: number;
  /** Rounds of (Ocellus upload, direct multipart), alternating. */
  rounds: number;
  /** generateContent requests per server. */
  requests: number;
  log: (line: string) => void;
}

const CHUNK = 8 * MiB;
const PROMPT = 'What is in this photo?';




/** Resumable upload as the SDKs send it; seconds from start to the final response. Deletes the file afterwards (untimed). */
async function ocellusUpload(port: number, totalBytes: number): Promise<number> {
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const start = await fetch(`${base}/upload/v1beta/files`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Goog-Upload-Protocol': 'resumable',
      'X-Goog-Upload-Command': 'start',
      'X-Goog-Upload-Header-Content-Length': String(totalBytes),
      'X-Goog-Upload-Header-Content-Type': 'application/octet-stream',
    },
    body: JSON.stringify({ file: { displayName: 'bench-scale.bin' } }),
  });
  const uploadUrl = start.headers.get('x-goog-upload-url');
  await start.arrayBuffer();
  if (start.status !== 200 || !uploadUrl) throw new Error(`upload start: ${start.status}`);
  let name: string | undefined;
  for (const { offset, data, last } of chunks(totalBytes)) {
    const r = await fetch(uploadUrl, {
      method: 'POST',
      headers: { 'X-Goog-Upload-Command': last ? 'upload, finalize' : 'upload', 'X-Goog-Upload-Offset': String(offset) },
      body: data as Uint8Array<ArrayBuffer>,
    });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`chunk at ${offset}: ${r.status} ${text.slice(0, 500)}`);
    if (last) name = (JSON.parse(text) as { file: { name: string } }).file.name;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (name) await fetch(`${base}/v1beta/${name}`, { method: 'DELETE' }).then((r) => r.arrayBuffer()).catch(() => undefined);
  return seconds;
}

/** The same bytes into the same bucket with the SDK's multipart upload, 8 MiB parts, one at a time. */
async function directUpload(client: S3Client, bucket: string, key: string, totalBytes: number): Promise<number> {
  const t0 = performance.now();
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/octet-stream' }));
  const parts: { ETag: string; PartNumber: number }[] = [];
  for (const { offset, data } of chunks(totalBytes)) {
    const PartNumber = offset / CHUNK + 1;
    const { ETag } = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body: data, ContentLength: data.length }));
    parts.push({ ETag: ETag!, PartNumber });
  }
  await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
  return (performance.now() - t0) / 1000;
}

async function uploadPhoto(port: number, jpeg: Buffer): Promise<string> {
  const boundary = 'ocellus-bench';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ file: { displayName: 'photo-640x480.jpg' } })}\r\n--${boundary}\r\ncontent-type: image/jpeg\r\n\r\n`),
    jpeg,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await fetch(`http://127.0.0.1:${port}/upload/v1beta/files?uploadType=multipart`, {
    method: 'POST',
    headers: { 'content-type': `multipart/related; boundary=${boundary}`, 'x-goog-upload-protocol': 'multipart' },
    body,
  });
  if (!res.ok) throw new Error(`photo upload: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { file: { uri: string } }).file.uri;
}

/** One generateContent naming the stored photo; milliseconds to the end of the response. */
async function generate(port: number, fileUri: string): Promise<number> {
  const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ fileData: { mimeType: 'image/jpeg', fileUri } }, { text: PROMPT }] }] });
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/v1beta/models/gemini-2.5-flash:generateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  const elapsed = performance.now() - t0;
  if (!res.ok) throw new Error(`generateContent: ${res.status} ${text.slice(0, 500)}`);
  return elapsed;
}

export async function runScale(opts: ScaleOptions): Promise<Omit<SuiteResult, 'seconds' | 'cpu'>> {
  if (opts.uploadBytes <= 0 || opts.uploadBytes % CHUNK !== 0) throw new Error(`upload size must be a positive multiple of ${CHUNK}`);
  const t0 = performance.now();
  await ensureInstalled();
  const root = mkdtempSync(path.join(os.tmpdir(), 'ocellus-bench-scale-'));
  const started = await Promise.allSettled([startPostgres(root), startRedis(root), startSwift(root)]);
  const running = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const ocellus: OcellusChild[] = [];
  const savedEnv = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  let client: S3Client | undefined;
  try {
    const failed = started.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    if (failed.length > 0) throw new Error(`scale servers failed to start:\n${failed.map((e) => e.message).join('\n')}`);
    const [pgS, redisS, swiftS] = started.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [RunningPostgres, RunningRedis, RunningSwift];
    const startSeconds = (performance.now() - t0) / 1000;
    opts.log(`  PostgreSQL, Redis and Swift started in ${startSeconds.toFixed(1)} s`);
    const s3 = swiftS.s3;
    client = s3Client(s3);

    // The S3 credentials reach the child through its environment, as for any S3 tool.
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
    const limits = ['--max-file-bytes', String(opts.uploadBytes * 2), '--max-project-bytes', String(opts.uploadBytes * 8)];
    const scaled = await startOcellus({
      dataDir: path.join(root, 'ocellus-scaled'),
      logFile: path.join(opts.tmpDir, 'scale-scaled.log'),
      extraArgs: [
        '--engine', 'measurements', '--log-level', 'warn',
        '--database-url', await createDatabase(pgS.url, 'bench_scale'),
        '--storage-url', storageUrlOf(s3, `bench-${randomBytes(4).toString('hex')}`),
        '--redis-url', redisS.url,
        ...limits,
      ],
    });
    ocellus.push(scaled);
    const local = await startOcellus({
      dataDir: path.join(root, 'ocellus-local'),
      logFile: path.join(opts.tmpDir, 'scale-local.log'),
      extraArgs: ['--engine', 'measurements', '--log-level', 'warn', ...limits],
    });
    ocellus.push(local);

    // 1. Upload throughput, alternating Ocellus and direct.
    const directPrefix = `bench-direct-${randomBytes(4).toString('hex')}`;
    const viaOcellus: number[] = [];
    const direct: number[] = [];
    await ocellusUpload(scaled.port, CHUNK); // warm-up: first connections to PostgreSQL and S3
    await directUpload(client, s3.bucket, `${directPrefix}/warmup`, CHUNK);
    for (let round = 1; round <= opts.rounds; round++) {
      const a = await ocellusUpload(scaled.port, opts.uploadBytes);
      const b = await directUpload(client, s3.bucket, `${directPrefix}/round-${round}`, opts.uploadBytes);
      viaOcellus.push(a);
      direct.push(b);
      opts.log(`  round ${round}/${opts.rounds}: Ocellus ${a.toFixed(2)} s, direct multipart ${b.toFixed(2)} s (${mib(opts.uploadBytes)})`);
    }
    const mbps = (s: number) => opts.uploadBytes / MiB / s;
    const upO = median(sorted(viaOcellus));
    const upD = median(sorted(direct));

    // 2. generateContent on a stored photo, PostgreSQL + S3 vs SQLite + filesystem.
    const jpeg = await sharp(opts.photoPath).resize(640, 480, { fit: 'fill' }).jpeg({ quality: 85 }).toBuffer();
    const uriScaled = await uploadPhoto(scaled.port, jpeg);
    const uriLocal = await uploadPhoto(local.port, jpeg);
    for (let i = 0; i < 5; i++) {
      await generate(scaled.port, uriScaled);
      await generate(local.port, uriLocal);
    }
    const latScaled: number[] = [];
    const latLocal: number[] = [];
    const block = 10; // alternate in blocks, so both see the same machine conditions
    for (let done = 0; done < opts.requests; done += block) {
      const n = Math.min(block, opts.requests - done);
      for (let i = 0; i < n; i++) latScaled.push(await generate(scaled.port, uriScaled));
      for (let i = 0; i < n; i++) latLocal.push(await generate(local.port, uriLocal));
    }
    const sS = sorted(latScaled);
    const sL = sorted(latLocal);
    const p = (a: Float64Array, q: number) => quantile(a, q);
    opts.log(`  generateContent p50: PostgreSQL+S3 ${ms(p(sS, 0.5))}, SQLite+filesystem ${ms(p(sL, 0.5))}`);

    const size = mib(opts.uploadBytes);
    return {
      title: `Scale out: upload through S3 and generateContent with PostgreSQL`,
      method:
        `PostgreSQL 15, Redis 7 and OpenStack Swift with s3api are started on loopback for the run (test/support/scale/). ` +
        `**Upload:** one ${size} file through Ocellus's resumable upload (8 MiB chunks, the last one \`upload, finalize\`) to an ` +
        '`ocellus serve` with `--storage-url` on the Swift S3 endpoint and `--database-url`, vs the same bytes put into the same bucket ' +
        `directly with \`@aws-sdk/client-s3\` multipart (8 MiB parts, one at a time); ${opts.rounds} rounds each, alternating, after one 8 MiB ` +
        'warm-up of each; medians. **generateContent:** `--engine measurements`, a 640×480 JPEG uploaded once, then ' +
        `${opts.requests} requests at concurrency 1 naming it by \`fileData\`, to the PostgreSQL + S3 (+ Redis) server and to a default ` +
        'SQLite + filesystem server, alternating in blocks of 10 after 5 warm-up requests each.',
      tables: [
        {
          head: ['upload', 'median s', 'MiB/s', 'time ratio to direct'],
          rows: [
            [`direct S3 multipart (@aws-sdk/client-s3), ${size}`, fmt(upD), fmt(mbps(upD)), ''],
            [`Ocellus resumable upload → PostgreSQL + S3, ${size}`, fmt(upO), fmt(mbps(upO)), ratio(upO, upD)],
          ],
        },
        {
          head: ['generateContent on a stored file', 'p50', 'p90', 'ratio p50', 'ratio p90'],
          rows: [
            ['SQLite + filesystem (default)', ms(p(sL, 0.5)), ms(p(sL, 0.9)), '', ''],
            ['PostgreSQL + S3 + Redis', ms(p(sS, 0.5)), ms(p(sS, 0.9)), ratio(p(sS, 0.5), p(sL, 0.5)), ratio(p(sS, 0.9), p(sL, 0.9))],
          ],
        },
      ],
      notes: [
        `Throughput ratio Ocellus/direct: ${fmt(mbps(upO) / mbps(upD))} (Ocellus at ${fmt(mbps(upO))} MiB/s, direct at ${fmt(mbps(upD))} MiB/s).`,
        `Starting PostgreSQL, Redis and Swift took ${startSeconds.toFixed(1)} s (not measured).`,
      ],
    };
  } finally {
    client?.destroy();
    await Promise.all(ocellus.map((o) => o.stop()));
    if (savedEnv.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    else process.env.AWS_ACCESS_KEY_ID = savedEnv.id;
    if (savedEnv.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    else process.env.AWS_SECRET_ACCESS_KEY = savedEnv.secret;
    await Promise.all(running.map((s) => s.stop()));
    rmSync(root, { recursive: true, force: true });
  }
}
