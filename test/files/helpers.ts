/**
 * Shared setup for the Files API tests: a real app (buildApp) over real stores in a temp
 * data dir, and two inspectors: a fake one and a real one that sniffs PNG/JPEG magic bytes
 * and decodes the image with sharp (so a truncated or garbage "image" fails).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import { pino } from 'pino';
import sharp from 'sharp';
import { loadConfig, type Limits } from '../../src/config.js';
import type { DiskGuard } from '../../src/files/disk-space.js';
import { FsBlobStore } from '../../src/files/fs-blob.js';
import { createFilesService, type FilesService, type Inspect } from '../../src/files/service.js';
import { openSqliteFileTables, SqliteMetaStore, type SqliteFileTables } from '../../src/files/sqlite-meta.js';
import { buildApp } from '../../src/server/app.js';
import { createFileRoutes } from '../../src/server/routes/files.js';
import { createUploadRoutes } from '../../src/server/routes/upload.js';

export const KEY_A = 'key-a-123';
export const KEY_B = 'key-b-456';

/** Real check: PNG/JPEG magic bytes, then a full decode with sharp. */
export const sniffInspect: Inspect = async (file, declared) => {
  const handle = await open(file, 'r');
  const head = Buffer.alloc(8);
  try {
    await handle.read(head, 0, 8, 0);
  } finally {
    await handle.close();
  }
  let mimeType: string;
  if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) mimeType = 'image/png';
  else if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) mimeType = 'image/jpeg';
  else return { ok: false, message: 'The file is not a supported image (unrecognised format).' };
  if (declared !== 'application/octet-stream' && declared !== mimeType && !(declared === 'image/jpg' && mimeType === 'image/jpeg'))
    return { ok: false, message: `The file was declared ${declared} but is ${mimeType}.` };
  try {
    await sharp(file, { failOn: 'truncated' }).raw().toBuffer();
  } catch (err) {
    return { ok: false, message: `The image could not be decoded: ${(err as Error).message}` };
  }
  return { ok: true, mimeType };
};

/** Fake: everything is a PNG. */
export const fakeInspect: Inspect = async () => ({ ok: true, mimeType: 'image/png' });

export interface Harness {
  app: FastifyInstance;
  files: FilesService;
  /** The metadata tables, read synchronously by tests. */
  meta: SqliteFileTables;
  blobs: FsBlobStore;
  dataDir: string;
  /** Closes app and stores (the data dir stays). */
  close(): Promise<void>;
}

export interface HarnessOptions {
  dataDir?: string;
  limits?: Partial<Limits>;
  clock?: () => number;
  inspect?: Inspect;
  keys?: string[];
  publicUrl?: string;
  /** Honour X-Forwarded-* (--trust-proxy). */
  trustProxy?: boolean;
  /** Free-space floor for uploads (none by default). */
  disk?: DiskGuard;
}

export function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'ocellus-files-'));
}

export async function harness(opts: HarnessOptions = {}): Promise<Harness> {
  const dataDir = opts.dataDir ?? tempDir();
  const config = loadConfig(
    {
      dataDir,
      apiKey: opts.keys ?? [KEY_A, KEY_B],
      ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
      ...(opts.trustProxy ? { trustProxy: true } : {}),
    },
    {},
  );
  config.limits = { ...config.limits, ...opts.limits };
  const logger = pino({ level: process.env.FILES_TEST_LOG ?? 'silent' });
  const blobs = new FsBlobStore(dataDir);
  const meta = openSqliteFileTables(dataDir);
  const files = createFilesService({
    blobs,
    meta: new SqliteMetaStore(meta),
    limits: config.limits,
    inspect: opts.inspect ?? sniffInspect,
    logger,
    ...(opts.clock ? { clock: opts.clock } : {}),
    orphanGraceMs: 0,
    ...(opts.disk ? { disk: opts.disk } : {}),
  });
  const app = await buildApp({
    config,
    logger,
    apiRoutes: [createFileRoutes(files)],
    uploadRoutes: [createUploadRoutes(files)],
  });
  let closed = false;
  return {
    app,
    files,
    meta,
    blobs,
    dataDir,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await files.stop();
      meta.close();
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export { filesUnder } from '../support/server.js';

/** A valid PNG of random noise, uncompressed (so its size is about w*h*3). */
export async function noisePng(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

export async function smallJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 200, g: 30, b: 30 } } })
    .jpeg()
    .toBuffer();
}

export const sha256Base64 = async (bytes: Uint8Array): Promise<string> =>
  (await import('node:crypto')).createHash('sha256').update(bytes).digest('base64');

/** Starts a resumable upload through inject; returns the upload URL's path+query. */
export async function startResumable(
  app: FastifyInstance,
  opts: { version?: string; key?: string; body?: string; length?: number; mimeType?: string; headers?: Record<string, string> } = {},
): Promise<{ url: string; pathAndQuery: string; uploadId: string }> {
  const res = await app.inject({
    method: 'POST',
    url: `/upload/${opts.version ?? 'v1beta'}/files`,
    headers: {
      'x-goog-api-key': opts.key ?? KEY_A,
      'content-type': 'application/json',
      'x-goog-upload-protocol': 'resumable',
      'x-goog-upload-command': 'start',
      ...(opts.length !== undefined ? { 'x-goog-upload-header-content-length': String(opts.length) } : {}),
      ...(opts.mimeType ? { 'x-goog-upload-header-content-type': opts.mimeType } : {}),
      ...opts.headers,
    },
    payload: opts.body ?? '',
  });
  if (res.statusCode !== 200) throw new Error(`start failed: ${res.statusCode} ${res.body}`);
  const url = res.headers['x-goog-upload-url'] as string;
  const u = new URL(url);
  return { url, pathAndQuery: u.pathname + u.search, uploadId: u.searchParams.get('upload_id')! };
}

/**
 * Per-test harnesses for a test file: `setup()` builds one and everything registered is
 * closed and removed after each test, newest first.
 */
export function harnessPerTest(defaults: Parameters<typeof harness>[0] = {}) {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    async setup(opts: Parameters<typeof harness>[0] = {}): Promise<Harness> {
      const h = await harness({ ...defaults, ...opts });
      cleanups.push(() => removeDir(h.dataDir));
      cleanups.push(() => h.close());
      return h;
    },
    onCleanup: (c: () => Promise<void> | void) => void cleanups.push(c),
  };
}
