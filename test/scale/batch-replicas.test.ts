/**
 * Batch mode on the scale-out stack: three `ocellus serve` replicas (child processes) share
 * one PostgreSQL and one S3 store, so batches live in PostgreSQL and every replica works
 * them. A batch created on A shows its progress on B; a cancel on B stops the work of every
 * replica; a replica killed with SIGKILL while it holds leased requests loses none of them:
 * the survivors take them over when the lease runs out and the responses file has exactly
 * one line per request, each the right answer for its image.
 *
 * `--engine measurements` answers from the pixels without models (each image's size), so
 * every answer can be checked against its request and the CPU stays free.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GoogleGenAI } from 'genai3';
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, freshPrefix, scaleServers } from '../support/scale/context.js';
import { startReplica, storageUrlOf, type Replica, type Shared } from './replica.js';

const KEY = 'batch-replicas-key';
const MODEL = 'gemini-2.5-flash';
const LEASE_SECONDS = 3;
const N = 120;

let shared: Shared;
let db: pg.Client;
let tmp: string;
let A: Replica, B: Replica, C: Replica;

const ai = (r: Replica) => new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: r.baseUrl } });
const sizeOf = (i: number) => ({ width: 40 + i, height: 30 + (i % 17) });

/** A small PNG of a size that names its request (the answer must say that size). */
async function image(i: number): Promise<string> {
  const { width, height } = sizeOf(i);
  const png = await sharp({ create: { width, height, channels: 3, background: { r: i % 256, g: 90, b: 160 } } }).png().toBuffer();
  return png.toString('base64');
}

const request = async (i: number) => ({
  contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data: await image(i) } }, { text: 'How big is this image?' }] }],
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Items of a batch a replica's queue holds right now (the holder names host/pid). */
async function heldBy(replica: Replica, batchId: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM batch_items i JOIN batches b ON b.seq = i.batch_seq
      WHERE b.id = $1 AND i.status = 1 AND i.holder LIKE $2`,
    [batchId, `%/${replica.child.pid}/%`],
  );
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  const servers = scaleServers();
  shared = {
    databaseUrl: await freshDatabase('batches'),
    storageUrl: storageUrlOf(servers.s3, freshPrefix('batches')),
    redisUrl: servers.redisUrl,
    s3: servers.s3,
  };
  const extra = ['--api-key', KEY, '--batch-concurrency', '2', '--batch-lease-seconds', String(LEASE_SECONDS)];
  [A, B, C] = (await Promise.all(['a', 'b', 'c'].map((n) => startReplica(`batch-${n}`, shared, extra)))) as [Replica, Replica, Replica];
  db = new pg.Client({ connectionString: shared.databaseUrl });
  await db.connect();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ocellus-batch-replicas-'));
}, 240_000);

afterAll(async () => {
  await db?.end();
  await Promise.all([A, B, C].filter(Boolean).map((r) => r.stop()));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('batch mode on three replicas sharing PostgreSQL + S3', { timeout: 180_000 }, () => {
  it('a batch created on A shows progress on B, and a cancel on B stops the work of every replica', async () => {
    const src = await Promise.all(Array.from({ length: 300 }, (_, i) => request(i)));
    const job = await ai(A).batches.create({ model: MODEL, src: src.map((r, i) => ({ ...r, metadata: { key: `c${i}` } })) as never });
    const id = job.name!.replace(/^batches\//, '');
    // Progress read on B while the replicas work it.
    const progress = await until('progress visible on B', async () => {
      const raw = (await fetch(`${B.baseUrl}/v1beta/${job.name}`, { headers: { 'x-goog-api-key': KEY } }).then((r) => r.json())) as any;
      const done = Number(raw.metadata.batchStats.successfulRequestCount);
      return done >= 5 && raw.metadata.state === 'BATCH_STATE_RUNNING' ? { done } : undefined;
    });
    expect(progress.done).toBeGreaterThanOrEqual(5);
    await ai(B).batches.cancel({ name: job.name! });
    // Every replica sees the cancel within its state check (1 s): answers stop being recorded.
    await new Promise((r) => setTimeout(r, 2500));
    const answered = async () => Number((await db.query<{ n: string }>(
      'SELECT count(*) AS n FROM batch_items i JOIN batches b ON b.seq = i.batch_seq WHERE b.id = $1 AND i.status IN (2, 3)', [id])).rows[0]!.n);
    const settled = await answered();
    await new Promise((r) => setTimeout(r, 2500));
    expect(await answered()).toBe(settled);
    expect(settled).toBeLessThan(300);
    for (const r of [A, B, C]) expect((await ai(r).batches.get({ name: job.name! })).state).toBe('JOB_STATE_CANCELLED');
  });

  it('C killed with SIGKILL while holding leased requests: A and B finish the file batch, every request answered exactly once', async () => {
    const lines = await Promise.all(Array.from({ length: N }, async (_, i) => JSON.stringify({ key: `r${i}`, request: await request(i) })));
    const input = path.join(tmp, 'requests.jsonl');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const uploaded = await ai(B).files.upload({ file: input, config: { mimeType: 'application/jsonl' } });
    const job = await ai(A).batches.create({ model: MODEL, src: uploaded.name! });
    const id = job.name!.replace(/^batches\//, '');

    // Freeze C (SIGSTOP) at a moment it holds requests of the batch under its lease, read
    // what it holds while it cannot change, then kill it (SIGKILL): no shutdown, no release.
    const orphans = await until('C to be frozen holding leased requests', async () => {
      if ((await heldBy(C, id)) === 0) return undefined;
      C.child.kill('SIGSTOP');
      const { rows } = await db.query<{ idx: number }>(
        `SELECT i.idx FROM batch_items i JOIN batches b ON b.seq = i.batch_seq WHERE b.id = $1 AND i.status = 1 AND i.holder LIKE $2`,
        [id, `%/${C.child.pid}/%`],
      );
      if (rows.length > 0) return rows.map((r) => r.idx);
      C.child.kill('SIGCONT');
      return undefined;
    }, 60_000, 10);
    await C.kill9();
    expect(orphans.length).toBeGreaterThan(0);

    const done = await until('the batch to finish on the survivors', async () => {
      const j = await ai(B).batches.get({ name: job.name! });
      return j.state === 'JOB_STATE_PENDING' || j.state === 'JOB_STATE_RUNNING' ? undefined : j;
    }, 150_000, 250);
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    const out = path.join(tmp, 'responses.jsonl');
    await ai(A).files.download({ file: done.dest!.fileName!, downloadPath: out });
    await until('the download to be written', async () => (readFileSync(out, 'utf8').endsWith('\n') ? true : undefined), 10_000, 50);
    const answers = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; response?: any; error?: unknown });
    // Exactly once: one line per key, none missing, none repeated.
    expect(answers).toHaveLength(N);
    expect(answers.map((a) => a.key)).toEqual(Array.from({ length: N }, (_, i) => `r${i}`));
    for (const [i, a] of answers.entries()) {
      expect(a.error, a.key).toBeUndefined();
      const { width, height } = sizeOf(i);
      expect(a.response.candidates[0].content.parts[0].text, a.key).toMatch(new RegExp(`${width}\\D{1,5}${height}`));
    }
    // C's orphaned requests were taken over after their lease ran out, and answered once.
    const { rows } = await db.query<{ idx: number; attempts: number; status: number }>(
      'SELECT i.idx, i.attempts, i.status FROM batch_items i JOIN batches b ON b.seq = i.batch_seq WHERE b.id = $1 AND i.idx = ANY($2::int[])',
      [id, orphans],
    );
    expect(rows).toHaveLength(orphans.length);
    for (const r of rows) expect({ idx: r.idx, status: r.status, retaken: r.attempts >= 2 }).toEqual({ idx: r.idx, status: 2, retaken: true });
    console.log(`kill -9: C held ${orphans.length} leased request(s) of ${N} when killed; all taken over by A and B`);
    const stats = (await fetch(`${A.baseUrl}/v1beta/${job.name}`, { headers: { 'x-goog-api-key': KEY } }).then((r) => r.json())) as any;
    expect(stats.metadata.batchStats).toEqual({ requestCount: String(N), successfulRequestCount: String(N), failedRequestCount: '0', pendingRequestCount: '0' });
  });
});
