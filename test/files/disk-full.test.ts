/**
 * A full disk (issue 11, defect 8): 503 UNAVAILABLE in Gemini's envelope instead of 500,
 * the failed upload's partial removed at once, and a free-space floor checked before bytes
 * are accepted. The real part runs on an 8 MiB tmpfs mounted here (needs root); the seam
 * part injects a writer that fails with ENOSPC and runs everywhere.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiskGuard, statfsFreeSpace } from '../../src/files/disk-space.js';
import { FsBlobStore } from '../../src/files/fs-blob.js';
import type { PartialWriter } from '../../src/files/fs-blob.js';
import { harness, harnessPerTest, KEY_A, startResumable, tempDir, type Harness } from './helpers.js';

const MiB = 1024 * 1024;
const { setup, onCleanup } = harnessPerTest();

const partials = (dataDir: string): string[] => readdirSync(path.join(dataDir, 'uploads'));

const raw = (h: Harness, body: Buffer) =>
  h.app.inject({
    method: 'POST',
    url: '/upload/v1beta/files?uploadType=media',
    headers: { 'x-goog-api-key': KEY_A, 'content-type': 'image/png' },
    payload: body,
  });

const chunk = (h: Harness, pq: string, command: string, offset: number, body: Buffer) =>
  h.app.inject({
    method: 'POST',
    url: pq,
    headers: { 'x-goog-upload-command': command, 'x-goog-upload-offset': String(offset) },
    payload: body,
  });

function expectUnavailable(res: { statusCode: number; json(): unknown; headers: Record<string, unknown> }): void {
  expect(res.statusCode).toBe(503);
  expect((res.json() as { error: unknown }).error).toMatchObject({ code: 503, status: 'UNAVAILABLE' });
  expect(res.headers['retry-after']).toBeDefined();
}

describe('disk full at the blob-store seam (ENOSPC injected)', () => {
  /** A blob store whose writers fail with ENOSPC once `budget` bytes were written in total. */
  class FullingBlobStore extends FsBlobStore {
    written = 0;
    constructor(
      dir: string,
      private readonly budget: number,
    ) {
      super(dir);
    }
    override async openPartial(key: string): Promise<PartialWriter> {
      const inner = await super.openPartial(key);
      return {
        get size() {
          return inner.size;
        },
        append: async (c: Uint8Array) => {
          if (this.written + c.length > this.budget)
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          this.written += c.length;
          await inner.append(c);
        },
        truncate: (n: number) => inner.truncate(n),
        sync: () => inner.sync(),
        close: () => inner.close(),
      };
    }
  }

  it('a resumable chunk hitting ENOSPC is 503, and the session and its partial are gone at once', async () => {
    const dataDir = tempDir();
    onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
    const h = await harness({ dataDir });
    onCleanup(() => h.close());
    // Swap the store's writer seam: the service holds `blobs`, so patch its openPartial.
    const full = new FullingBlobStore(dataDir, 1000);
    h.blobs.openPartial = full.openPartial.bind(full);
    const { pathAndQuery } = await startResumable(h.app, {});
    expect((await chunk(h, pathAndQuery, 'upload', 0, randomBytes(800))).statusCode).toBe(200);
    expectUnavailable(await chunk(h, pathAndQuery, 'upload', 800, randomBytes(800)));
    expect(partials(dataDir)).toEqual([]);
    const q = await h.app.inject({ method: 'POST', url: pathAndQuery, headers: { 'x-goog-upload-command': 'query' } });
    expect(q.statusCode).toBe(404);
  });

  it('the floor refuses before reading when the free space (as reported) is too low', async () => {
    let free = 10 * MiB;
    const h = await setup({ disk: createDiskGuard({ dir: '.', minFreeBytes: 4 * MiB, freeSpace: async () => free }) });
    expect((await raw(h, randomBytes(1000))).statusCode).toBe(200);
    free = 4 * MiB + 500;
    expectUnavailable(await raw(h, randomBytes(1000)));
    expect(partials(h.dataDir)).toEqual([]);
    const start = await h.app.inject({
      method: 'POST',
      url: '/upload/v1beta/files',
      headers: { 'x-goog-api-key': KEY_A, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start', 'x-goog-upload-header-content-length': '1000' },
    });
    expectUnavailable(start);
  });
});

describe('disk full on a real 8 MiB file system', () => {
  let mnt: string | undefined;
  let why = '';
  beforeAll(() => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { stdio: 'pipe' });
      mnt = dir;
    } catch (err) {
      why = (err as Error).message.split('\n')[0] ?? 'mount failed';
      rmSync(dir, { recursive: true, force: true });
    }
  });
  afterAll(() => {
    if (!mnt) return;
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  const fresh = (): string => {
    if (!mnt) throw new Error(`cannot mount a tmpfs here (${why}); run as root to test a real full disk`);
    const d = path.join(mnt, `d${Math.random().toString(36).slice(2)}`);
    mkdirSync(d);
    return d;
  };

  it('a single-request upload larger than the disk is 503, and its partial is removed', async (ctx) => {
    if (!mnt) return ctx.skip(`no tmpfs: ${why}`);
    const h = await setup({ dataDir: fresh() });
    const before = await statfsFreeSpace(h.dataDir);
    expectUnavailable(await raw(h, randomBytes(12 * MiB)));
    expect(partials(h.dataDir)).toEqual([]);
    expect(await statfsFreeSpace(h.dataDir)).toBeGreaterThanOrEqual(before - 256 * 1024);
  });

  it('a resumable upload that fills the disk is 503; its partial does not wait 48 h to go', async (ctx) => {
    if (!mnt) return ctx.skip(`no tmpfs: ${why}`);
    const h = await setup({ dataDir: fresh() });
    const before = await statfsFreeSpace(h.dataDir);
    const { pathAndQuery } = await startResumable(h.app, {});
    expect((await chunk(h, pathAndQuery, 'upload', 0, randomBytes(3 * MiB))).statusCode).toBe(200);
    expectUnavailable(await chunk(h, pathAndQuery, 'upload', 3 * MiB, randomBytes(7 * MiB)));
    expect(partials(h.dataDir)).toEqual([]);
    expect(await statfsFreeSpace(h.dataDir)).toBeGreaterThanOrEqual(before - 256 * 1024);
    // The space is back: a new upload fits.
    expect((await raw(h, randomBytes(2 * MiB))).statusCode).toBe(200);
  });

  it('the free-space floor (statfs) refuses an upload that would dip below it, before writing', async (ctx) => {
    if (!mnt) return ctx.skip(`no tmpfs: ${why}`);
    const dataDir = fresh();
    const h = await setup({ dataDir, disk: createDiskGuard({ dir: dataDir, minFreeBytes: 6 * MiB }) });
    expectUnavailable(await raw(h, randomBytes(3 * MiB)));
    expect(partials(dataDir)).toEqual([]);
    expect((await raw(h, randomBytes(512 * 1024))).statusCode).toBe(200);
  });
});
