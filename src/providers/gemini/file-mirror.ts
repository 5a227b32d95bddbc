/**
 * Upstream copies of Ocellus files. A file asked about through upstream Gemini is uploaded
 * there once and the copy is reused until the upstream expires it, so a second question
 * about the same file uploads nothing. The key includes the content hash: a file name
 * reused for new bytes (after a delete, or expiry) gets a new copy. Concurrent requests for
 * the same file wait for one upload instead of each starting their own.
 */
import type { StoredImageFile } from '../../seam/files.js';

/** The upstream File resource fields the mirror needs. */
export interface UpstreamFile {
  name: string;
  uri: string;
  mimeType: string;
  /** RFC 3339; Gemini keeps uploaded files 48 h. */
  expirationTime?: string;
}

export interface MirroredFile {
  name: string;
  uri: string;
  mimeType: string;
  /** Epoch ms after which the copy is not used any more. */
  usableUntil: number;
}

export interface FileMirrorOptions {
  upload(file: StoredImageFile): Promise<UpstreamFile>;
  now?: () => number;
  /**
   * A copy this close to its expiry is uploaded again: a request must not name a file that
   * the upstream deletes while it is still reading it.
   */
  marginMs?: number;
  /** Assumed lifetime when the upstream gives no expirationTime. */
  defaultTtlMs?: number;
  /** Bound on remembered copies; the oldest are forgotten first. */
  maxEntries?: number;
}

export interface FileMirror {
  /** The upstream copy of `file`, uploading it first if there is no usable one. */
  get(project: string, file: StoredImageFile, signal?: AbortSignal): Promise<MirroredFile>;
  /** Drops copies the upstream says it no longer has (by upstream name `files/x`). */
  forget(upstreamNames: Iterable<string>): number;
  /** Copies currently remembered (expired ones are pruned lazily). */
  readonly size: number;
  /** Upstream copies that are being uploaded right now. */
  readonly uploading: number;
  /** The remembered copies, for matching an upstream error against them. */
  entries(): MirroredFile[];
  clear(): void;
}

const DEFAULT_MARGIN_MS = 10 * 60_000;
const DEFAULT_TTL_MS = 60 * 60_000;

export const mirrorKey = (project: string, file: Pick<StoredImageFile, 'name' | 'sha256Hex'>): string =>
  `${project}\u0000${file.name}\u0000${file.sha256Hex}`;

/** Until when an upstream copy may be used. */
export function usableUntil(f: UpstreamFile, now: number, marginMs: number, defaultTtlMs: number): number {
  const at = f.expirationTime ? Date.parse(f.expirationTime) : Number.NaN;
  return (Number.isNaN(at) ? now + defaultTtlMs : at) - marginMs;
}

export function createFileMirror(opts: FileMirrorOptions): FileMirror {
  const now = opts.now ?? Date.now;
  const marginMs = opts.marginMs ?? DEFAULT_MARGIN_MS;
  const defaultTtlMs = opts.defaultTtlMs ?? DEFAULT_TTL_MS;
  const maxEntries = opts.maxEntries ?? 10_000;
  const copies = new Map<string, MirroredFile>();
  const inFlight = new Map<string, Promise<MirroredFile>>();

  const prune = () => {
    const t = now();
    for (const [k, v] of copies) if (v.usableUntil <= t) copies.delete(k);
    // Map iteration is insertion order, so the first keys are the oldest copies.
    for (const k of copies.keys()) {
      if (copies.size <= maxEntries) break;
      copies.delete(k);
    }
  };

  const start = (key: string, file: StoredImageFile): Promise<MirroredFile> => {
    const p = (async () => {
      const up = await opts.upload(file);
      const copy: MirroredFile = { name: up.name, uri: up.uri, mimeType: up.mimeType || file.mimeType, usableUntil: usableUntil(up, now(), marginMs, defaultTtlMs) };
      copies.delete(key); // re-insert at the end: newest last
      copies.set(key, copy);
      prune();
      return copy;
    })().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  };

  return {
    async get(project, file, signal) {
      const key = mirrorKey(project, file);
      const copy = copies.get(key);
      if (copy && copy.usableUntil > now()) return copy;
      if (copy) copies.delete(key);
      // The upload is shared, so it is not tied to one caller's signal: a client that leaves
      // must not fail the others waiting for the same file. Each caller stops waiting on its own.
      const shared = inFlight.get(key) ?? start(key, file);
      return signal ? raceAbort(shared, signal) : shared;
    },
    forget(upstreamNames) {
      const names = new Set(upstreamNames);
      let n = 0;
      for (const [k, v] of copies)
        if (names.has(v.name)) {
          copies.delete(k);
          n++;
        }
      return n;
    },
    get size() {
      prune();
      return copies.size;
    },
    get uploading() {
      return inFlight.size;
    },
    entries() {
      prune();
      return [...copies.values()];
    },
    clear() {
      copies.clear();
    },
  };
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
