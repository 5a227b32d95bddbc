/**
 * Expiry: files live 48 h, resumable sessions a day (limits). Expired rows are invisible at
 * once (every lookup compares with the clock); the sweeper removes them for good, with
 * their bytes, and removes objects and uploads no row references (left by a crash) once
 * they are older than a grace period.
 *
 * With several replicas on one MetaStore, one sweeps at a time: a sweep runs only while
 * this process holds the store's sweep lease.
 */
import { hostname } from 'node:os';
import type { FilesContext } from './context.js';

export interface SweepReport {
  files: number;
  sessions: number;
  orphans: number;
}

export interface Sweeper {
  /** One sweep now (joins a running one). Skipped (all zero) when another process holds the lease. */
  sweep(): Promise<SweepReport>;
  start(): void;
  /** Stops the timer and waits for a running sweep. */
  stop(): Promise<void>;
}

const BATCH = 200;
/** Long enough for a slow sweep of a big backlog; a crashed holder's lease lapses after it. */
const MIN_LEASE_MS = 5 * 60_000;

export const sweepHolder = (): string => `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;

/**
 * `isBusy(sessionKey)`: a chunk of that session is being written by this process right
 * now (its bytes stay until the chunk ends; the next request then finds the session gone).
 */
export function createSweeper(ctx: FilesContext, orphanGraceMs: number, isBusy: (sessionKey: string) => boolean): Sweeper {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SweepReport> | undefined;
  const leaseMs = Math.max(MIN_LEASE_MS, 2 * ctx.limits.sweepIntervalMs);

  async function run(): Promise<SweepReport> {
    const report: SweepReport = { files: 0, sessions: 0, orphans: 0 };
    const { meta, blobs } = ctx;
    const now = ctx.clock();
    if (!(await meta.tryAcquireSweepLease(ctx.holder, now, leaseMs))) return report;
    try {
      for (;;) {
        const batch = await meta.expiredFiles(now, BATCH);
        for (const rec of batch) {
          // Bytes first, then the row: a crash in between leaves an expired row whose bytes
          // are already gone, which the next sweep finishes.
          if (rec.blobKey) await blobs.delete(rec.blobKey);
          await meta.deleteFile(rec.project, rec.id, rec.seq);
          report.files++;
        }
        if (batch.length < BATCH) break;
      }
      for (const s of await meta.expiredSessions(now, 1000)) {
        if (isBusy(s.key)) continue;
        await blobs.abortUpload(s.uploadKey);
        await meta.deleteSession(s.key);
        report.sessions++;
      }
      // Orphans are judged by the wall clock: their age is the store's mtime, not the injectable clock.
      const cutoff = Date.now() - orphanGraceMs;
      for (const b of await blobs.list(cutoff + 1)) {
        if (ctx.committing.has(b.key) || (await meta.hasBlobKey(b.key))) continue;
        await blobs.delete(b.key);
        report.orphans++;
      }
      for (const u of await blobs.listUploads(cutoff + 1)) {
        if (ctx.activeTemps.has(u.key) || (await meta.hasUploadKey(u.key))) continue;
        await blobs.abortUpload(u.key);
        report.orphans++;
      }
    } finally {
      await meta.releaseSweepLease(ctx.holder).catch(() => undefined);
    }
    if (report.files + report.sessions + report.orphans > 0) ctx.logger.info({ swept: report }, 'files swept');
    return report;
  }

  const sweeper: Sweeper = {
    sweep() {
      running ??= run().finally(() => (running = undefined));
      return running;
    },
    start() {
      if (timer) return;
      const tick = (): void => {
        void sweeper.sweep().catch((err) => ctx.logger.error({ err }, 'files sweep failed'));
      };
      timer = setInterval(tick, ctx.limits.sweepIntervalMs);
      timer.unref();
      tick();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
  return sweeper;
}
