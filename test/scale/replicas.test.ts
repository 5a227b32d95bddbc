/**
 * Three Ocellus replicas (child processes) sharing one PostgreSQL, one S3 store (Swift) and
 * one Redis, with no affinity between a client and a replica: a resumable upload started
 * on A takes its chunks on B and is finalised on C (raw HTTP for the chunking, the SDKs for
 * the rest); the file is read, listed, used in generateContent and deleted on other
 * replicas; a replica killed with SIGKILL in the middle of a chunk leaves the upload to be
 * resumed on another with the right offset and the same SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { GoogleGenAI as GenAI2 } from 'genai2';
import { GoogleGenAI as GenAI3 } from 'genai3';
import pg from 'pg';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, freshPrefix, scaleServers } from '../support/scale/context.js';
import { s3Client } from '../support/scale/swift.js';
import { startReplica, storageUrlOf, type Replica, type Shared } from './replica.js';
import { CHUNK_LEASE_MS } from '../../src/files/resumable.js';

const KEY = 'replica-test-key';
const MODEL = 'gemini-2.5-flash';
const MiB = 1024 * 1024;
const WIDTH = 1700;
const HEIGHT = 1650;

let shared: Shared;
let prefix: string;
let A: Replica, B: Replica, C: Replica;
let png: Buffer;

/** Incompressible pixels: the PNG is ~8 MiB, so it takes a ≥ 5 MiB part and a small last one. */
async function noisePng(): Promise<Buffer> {
  return sharp(randomBytes(WIDTH * HEIGHT * 3), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
}

const sha256 = (b: Uint8Array, enc: 'hex' | 'base64') => createHash('sha256').update(b).digest(enc);

/** The upload URL as another replica serves it: same path and credential, another host. */
const on = (replica: Replica, uploadUrl: string) => {
  const u = new URL(uploadUrl);
  return `${replica.baseUrl}${u.pathname}${u.search}`;
};

async function startUpload(replica: Replica, size: number, displayName: string): Promise<string> {
  const res = await fetch(`${replica.baseUrl}/upload/v1beta/files`, {
    method: 'POST',
    headers: {
      'x-goog-api-key': KEY,
      'x-goog-upload-protocol': 'resumable',
      'x-goog-upload-command': 'start',
      'x-goog-upload-header-content-length': String(size),
      'x-goog-upload-header-content-type': 'image/png',
      'content-type': 'application/json',
    },
    body: JSON.stringify({ file: { display_name: displayName } }),
  });
  expect(res.status).toBe(200);
  const url = res.headers.get('x-goog-upload-url');
  expect(url).toBeTruthy();
  return url!;
}

async function sendChunk(url: string, offset: number, bytes: Uint8Array, finalize: boolean) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'x-goog-upload-command': finalize ? 'upload, finalize' : 'upload', 'x-goog-upload-offset': String(offset) },
    body: Buffer.from(bytes),
  });
  return { status: res.status, uploadStatus: res.headers.get('x-goog-upload-status'), body: (await res.json().catch(() => undefined)) as any };
}

async function query(url: string): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'x-goog-upload-command': 'query' } });
  expect(res.status).toBe(200);
  return Number(res.headers.get('x-goog-upload-size-received'));
}

beforeAll(async () => {
  const servers = scaleServers();
  prefix = freshPrefix('replicas');
  shared = {
    databaseUrl: await freshDatabase('replicas'),
    storageUrl: storageUrlOf(servers.s3, prefix),
    redisUrl: servers.redisUrl,
    s3: servers.s3,
  };
  // Started together: their migrations meet at the advisory lock.
  const started = await Promise.all(['a', 'b', 'c'].map((n) => startReplica(n, shared, ['--api-key', KEY])));
  [A, B, C] = started as [Replica, Replica, Replica];
  png = await noisePng();
}, 240_000);

afterAll(async () => {
  await Promise.all([A, B, C].filter(Boolean).map((r) => r.stop()));
});

describe('three replicas on PostgreSQL + S3 + Redis', { timeout: 120_000 }, () => {
  let fileName: string;

  it('migrated the shared database once although all three started together', async () => {
    const client = new pg.Client({ connectionString: shared.databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
    await client.end();
    expect(Number(rows[0]!.n)).toBeGreaterThan(0);
    const migratedBy = [A, B, C].filter((r) => r.logs().includes('"msg":"database migrated"'));
    expect(migratedBy).toHaveLength(1);
  });

  it('a resumable upload started on A takes a chunk on B and is finalised on C', async () => {
    expect(png.length).toBeGreaterThan(6 * MiB);
    const url = await startUpload(A, png.length, 'noise across replicas');
    const first = await sendChunk(on(B, url), 0, png.subarray(0, 6 * MiB), false);
    expect(first).toMatchObject({ status: 200, uploadStatus: 'active' });
    expect(await query(on(A, url))).toBe(6 * MiB);
    const last = await sendChunk(on(C, url), 6 * MiB, png.subarray(6 * MiB), true);
    expect(last.status).toBe(200);
    expect(last.uploadStatus).toBe('final');
    expect(last.body.file).toMatchObject({ sizeBytes: String(png.length), mimeType: 'image/png', sha256Hash: sha256(png, 'base64') });
    fileName = last.body.file.name;
  });

  it('the file is read through genai3 on B, listed through genai2 on A, and used in generateContent on C', async () => {
    const b = new GenAI3({ apiKey: KEY, httpOptions: { baseUrl: B.baseUrl } });
    const got = await b.files.get({ name: fileName });
    expect(got.state).toBe('ACTIVE');
    expect(got.sha256Hash).toBe(sha256(png, 'base64'));
    const a = new GenAI2({ apiKey: KEY, httpOptions: { baseUrl: A.baseUrl } });
    const listed: string[] = [];
    for await (const f of await a.files.list()) listed.push(f.name!);
    expect(listed).toContain(fileName);
    const c = new GenAI3({ apiKey: KEY, httpOptions: { baseUrl: C.baseUrl } });
    const answer = await c.models.generateContent({
      model: MODEL,
      contents: [{ role: 'user', parts: [{ fileData: { fileUri: got.uri!, mimeType: 'image/png' } }, { text: 'How big is this image?' }] }],
    });
    expect(answer.text).toMatch(new RegExp(`${WIDTH}\\D{1,5}${HEIGHT}`));
  });

  it('deleted on A, the file is gone on B and C, from PostgreSQL and from the store', async () => {
    const id = fileName.replace(/^files\//, '');
    const client = new pg.Client({ connectionString: shared.databaseUrl });
    await client.connect();
    try {
      const before = await client.query<{ blob_key: string }>('SELECT blob_key FROM files WHERE id = $1', [id]);
      const blobKey = before.rows[0]!.blob_key;
      const s3 = s3Client(scaleServers().s3);
      const head = () => s3.send(new HeadObjectCommand({ Bucket: shared.s3.bucket, Key: `${prefix}/blobs/${blobKey}` }));
      expect((await head()).ContentLength).toBe(png.length);

      const a = new GenAI3({ apiKey: KEY, httpOptions: { baseUrl: A.baseUrl } });
      await a.files.delete({ name: fileName });
      for (const r of [B, C]) {
        const res = await fetch(`${r.baseUrl}/v1beta/${fileName}`, { headers: { 'x-goog-api-key': KEY } });
        expect(res.status).toBe(403);
      }
      expect((await client.query('SELECT 1 FROM files WHERE id = $1', [id])).rowCount).toBe(0);
      await expect(head()).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
      s3.destroy();
    } finally {
      await client.end();
    }
  });

  // The killed replica's chunk writer lease (30 s, src/files/resumable.ts) must lapse first: until
  // then the other replicas answer 503 with the offset received, and the client retries, as a
  // resumable-upload client does after a 503.
  it('C killed with SIGKILL mid-chunk: the upload resumes on B at the recorded offset and completes with the same SHA-256', async () => {
    const url = await startUpload(A, png.length, 'killed mid-chunk');
    expect(await sendChunk(on(B, url), 0, png.subarray(0, 5 * MiB), false)).toMatchObject({ status: 200, uploadStatus: 'active' });
    // Half of the next chunk reaches C, then C dies.
    const target = new URL(on(C, url));
    const http = await import('node:http');
    const partial = http.request({
      host: '127.0.0.1',
      port: Number(target.port),
      path: `${target.pathname}${target.search}`,
      method: 'POST',
      headers: { 'x-goog-upload-command': 'upload', 'x-goog-upload-offset': String(5 * MiB), 'content-length': String(png.length - 5 * MiB) },
    });
    partial.on('error', () => {}); // the connection dies with C
    partial.write(png.subarray(5 * MiB, 6 * MiB));
    await new Promise((r) => setTimeout(r, 500));
    await C.kill9();
    partial.destroy();

    const received = await query(on(A, url));
    if (received !== 5 * MiB) console.log(C.logs().slice(-3000));
    expect(received).toBe(5 * MiB);
    const started = Date.now();
    // While C's writer lease lasts, B refuses the chunk with 503 as soon as it has the headers;
    // on a loaded machine that refusal can reach the client as a reset connection (EPIPE) while
    // it is still writing the body (seen once in CI). Either way the client tries again later.
    const attempt = () =>
      sendChunk(on(B, url), received, png.subarray(received), true).catch((err: Error) => {
        if (!/fetch failed/.test(err.message)) throw err;
        return { status: 503, uploadStatus: 'active', body: undefined };
      });
    let done = await attempt();
    while (done.status === 503 && Date.now() - started < CHUNK_LEASE_MS + 15_000) {
      expect(done.uploadStatus).toBe('active');
      await new Promise((r) => setTimeout(r, 2_000));
      done = await attempt();
    }
    if (done.status !== 200) console.log(JSON.stringify(done));
    expect(done.status).toBe(200);
    expect(done.body.file).toMatchObject({ sizeBytes: String(png.length), sha256Hash: sha256(png, 'base64') });
    const a = new GenAI2({ apiKey: KEY, httpOptions: { baseUrl: A.baseUrl } });
    expect((await a.files.get({ name: done.body.file.name })).state).toBe('ACTIVE');
  }, 120_000);
});
