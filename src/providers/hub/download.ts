/**
 * One file from the hub into the store, safely:
 *  - bytes go to `<file>.part`; a re-run (or an in-run retry) asks for the rest with
 *    `Range: bytes=<have>-` and appends, so a dropped connection costs only what was lost;
 *  - the content is checked before it gets its final name: sha256 against the tree's
 *    `lfs.oid` for LFS files, the git blob id (sha1 of `blob <size>\0` + content) for small
 *    ones, and the size always; a mismatch deletes the part file and fails;
 *  - the rename into place is atomic (same directory), so a final name never holds a
 *    partial or unverified file.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { HubError, hubFetch, statusError, type HubOptions } from './hub-api.js';

export interface Expected {
  size: number;
  sha256?: string;
  gitOid?: string;
}

export interface DownloadRequest {
  hub: HubOptions;
  url: string;
  /** For messages: `onnx/model.onnx of owner/name`. */
  what: string;
  repo: string;
  revision: string;
  dest: string;
  expected: Expected;
  /** Bytes of this file on disk so far (absolute, so retries and resumes never count twice). */
  onProgress?(bytes: number): void;
  /** In-run retries after a dropped connection, each resuming; 0 leaves the part file for a re-run. */
  retries?: number;
  retryDelayMs?: number;
}

export interface DownloadResult {
  /** `skipped`: already in place and verified; `resumed`: continued from a part file. */
  outcome: 'downloaded' | 'resumed' | 'skipped';
  /** Bytes fetched over the network in this call. */
  fetched: number;
  commit?: string;
}

class Hashes {
  readonly sha256: Hash = createHash('sha256');
  readonly sha1: Hash | undefined;
  constructor(expected: Expected) {
    if (expected.gitOid) {
      this.sha1 = createHash('sha1');
      this.sha1.update(`blob ${expected.size}\0`);
    }
  }
  update(chunk: Uint8Array) {
    this.sha256.update(chunk);
    this.sha1?.update(chunk);
  }
}

async function hashFile(file: string, hashes: Hashes): Promise<void> {
  for await (const chunk of createReadStream(file)) hashes.update(chunk as Buffer);
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

/** Checks size and digests; returns the reason when they disagree. */
function mismatch(expected: Expected, size: number, hashes: Hashes): string | undefined {
  if (size !== expected.size) return `size ${size} bytes, expected ${expected.size}`;
  if (expected.sha256) {
    const got = hashes.sha256.digest('hex');
    if (got !== expected.sha256) return `sha256 ${got}, expected ${expected.sha256}`;
  }
  if (expected.gitOid && hashes.sha1) {
    const got = hashes.sha1.digest('hex');
    if (got !== expected.gitOid) return `git blob id ${got}, expected ${expected.gitOid}`;
  }
  return undefined;
}

/** True when `dest` is already the expected file (a finished earlier pull). */
async function alreadyInPlace(dest: string, expected: Expected): Promise<boolean> {
  if ((await sizeOf(dest)) !== expected.size) return false;
  const hashes = new Hashes(expected);
  await hashFile(dest, hashes);
  return mismatch(expected, expected.size, hashes) === undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function downloadFile(req: DownloadRequest): Promise<DownloadResult> {
  const { dest, expected } = req;
  if (await alreadyInPlace(dest, expected)) {
    req.onProgress?.(expected.size);
    return { outcome: 'skipped', fetched: 0 };
  }
  await mkdir(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const retries = req.retries ?? 2;
  let fetched = 0;
  let resumed = false;
  let commit: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await attemptDownload(req, part, (n) => (fetched += n));
      resumed ||= r.resumed;
      commit ??= r.commit;
      break;
    } catch (err) {
      if (!(err instanceof HubError) || err.kind !== 'interrupted' || attempt >= retries) throw err;
      await sleep(req.retryDelayMs ?? 1000 * (attempt + 1));
    }
  }
  // Verify the whole part file from disk: the bytes that count are the ones that will be loaded.
  const hashes = new Hashes(expected);
  await hashFile(part, hashes);
  const bad = mismatch(expected, (await sizeOf(part)) ?? 0, hashes);
  if (bad) {
    await rm(part, { force: true });
    throw new HubError('checksum', `${req.what} is corrupt (${bad}); the bad download was deleted. Run the pull again; if it keeps failing, the mirror serves a different file than the hub lists.`);
  }
  await rename(part, dest);
  return { outcome: resumed ? 'resumed' : 'downloaded', fetched, ...(commit ? { commit } : {}) };
}

async function attemptDownload(req: DownloadRequest, part: string, counted: (n: number) => void): Promise<{ resumed: boolean; commit?: string }> {
  const { expected } = req;
  let have = (await sizeOf(part)) ?? 0;
  if (have > expected.size) {
    await rm(part, { force: true });
    have = 0;
  }
  if (have === expected.size && expected.size > 0) {
    req.onProgress?.(have);
    return { resumed: true }; // complete from an earlier run; verified by the caller
  }
  const headers: Record<string, string> = {};
  if (have > 0) headers.range = `bytes=${have}-`;
  const { res, commit } = await hubFetch(req.hub, req.url, headers);
  let append = false;
  if (res.status === 206 && have > 0) {
    const start = Number(/bytes\s+(\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1]);
    if (start !== have) {
      await res.body?.cancel().catch(() => undefined);
      throw new HubError('http', `${req.what}: asked to resume at byte ${have}, the server answered from byte ${start}`);
    }
    append = true;
  } else if (res.status === 416 && have > 0) {
    // The server says there is nothing past `have`: start over, the part file cannot be trusted.
    await res.body?.cancel().catch(() => undefined);
    await rm(part, { force: true });
    throw new HubError('interrupted', `${req.what}: the partial download did not match the server's file; starting over`);
  } else if (!res.ok) {
    throw await statusError(res, req.what, req.repo, req.revision);
  }
  // A 200 to a Range request means the server ignored it: the body is the whole file.
  const base = append ? have : 0;
  req.onProgress?.(base);
  const fh: FileHandle = await open(part, append ? 'a' : 'w');
  let received = 0;
  try {
    if (!res.body) throw new HubError('interrupted', `${req.what}: empty response body`);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      await fh.write(chunk);
      received += chunk.length;
      counted(chunk.length);
      req.onProgress?.(base + received);
    }
  } catch (err) {
    if (err instanceof HubError) throw err;
    if ((err as Error)?.name === 'AbortError') throw err;
    throw new HubError(
      'interrupted',
      `the connection dropped while downloading ${req.what} (${base + received} of ${expected.size} bytes kept in ${path.basename(part)}); run the same pull again to resume`,
    );
  } finally {
    await fh.close();
  }
  const total = base + received;
  if (total < expected.size)
    throw new HubError(
      'interrupted',
      `the download of ${req.what} ended early (${total} of ${expected.size} bytes kept in ${path.basename(part)}); run the same pull again to resume`,
    );
  return { resumed: append, ...(commit ? { commit } : {}) };
}
