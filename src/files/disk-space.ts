/**
 * Disk space for uploads. A full disk is the server's condition, not the client's fault:
 * it answers 503 UNAVAILABLE (retry later), never 500. Two layers:
 * - a free-space floor checked with statfs before upload bytes are accepted (and again
 *   every few MiB while they stream), so uploads stop while the data dir's file system
 *   still has room for SQLite, logs and the rest of the system;
 * - ENOSPC / EDQUOT / SQLITE_FULL caught where bytes or records are written, mapped to the
 *   same 503 (the caller removes what the failed write left behind).
 */
import { statfs } from 'node:fs/promises';
import { unavailable, type ApiError } from '../errors.js';

/** Bytes available to this process on the file system holding `dir`. */
export type FreeSpace = (dir: string) => Promise<number>;

export const statfsFreeSpace: FreeSpace = async (dir) => {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
};

export interface DiskGuard {
  /** Throws 503 when writing `incomingBytes` more would leave less than the floor free. */
  ensure(incomingBytes: number): Promise<void>;
}

/** How often (in bytes written) a streaming upload re-checks the floor. */
export const RECHECK_BYTES = 8 * 1024 * 1024;

const RETRY_AFTER_S = 60;

export const diskFull = (): ApiError =>
  unavailable(
    'The server has no disk space left for uploads. The upload was stopped and its bytes removed; try again later or ask the operator to free space.',
    RETRY_AFTER_S,
  );

const belowFloor = (): ApiError =>
  unavailable(
    'The server is low on disk space and does not accept upload bytes right now. Try again later or ask the operator to free space.',
    RETRY_AFTER_S,
  );

/** Whether an error is a full disk or quota (file system or SQLite). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

export function createDiskGuard(opts: { dir: string; minFreeBytes: number; freeSpace?: FreeSpace }): DiskGuard {
  const freeSpace = opts.freeSpace ?? statfsFreeSpace;
  return {
    async ensure(incomingBytes) {
      if (opts.minFreeBytes <= 0 && incomingBytes <= 0) return;
      let free: number;
      try {
        free = await freeSpace(opts.dir);
      } catch {
        // A file system that cannot tell (statfs unsupported): rely on ENOSPC handling.
        return;
      }
      if (free - incomingBytes < opts.minFreeBytes) throw belowFloor();
    },
  };
}

/** No floor (tests and callers that do not configure one). */
export const noDiskGuard: DiskGuard = { ensure: async () => undefined };
