/**
 * vitest globalSetup (second entry): installs and starts PostgreSQL 15, Redis 7 and Swift
 * (S3) once per run, in parallel, when the run includes a test file that needs them
 * (test/scale/, the PostgreSQL and S3 store suites); a run of other files starts nothing.
 * Their addresses reach the tests as the provided context `scale` (see context.ts); all
 * servers are stopped by PID and the temp dir removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureInstalled } from './install.js';
import { startPostgres, type RunningPostgres } from './postgres.js';
import { startRedis, type RunningRedis } from './redis.js';
import { startSwift, type RunningSwift } from './swift.js';
import type { ScaleServers } from './context.js';

/** Test files that talk to the scale servers. */
export const NEEDS_SCALE = /(^|\/)test\/(scale\/.*|files\/(pg-meta|s3-blob))\.test\.ts$/;

async function runIncludesScaleTests(project: TestProject): Promise<boolean> {
  // The CLI's file filters are already known when globalSetup runs (an internal field).
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern ?? [];
  const { testFiles } = await project.globTestFiles(filters);
  return testFiles.some((f) => NEEDS_SCALE.test(f.split(path.sep).join('/')));
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  if (!(await runIncludesScaleTests(project))) return;
  const started = performance.now();
  await ensureInstalled();
  const root = mkdtempSync(path.join(os.tmpdir(), 'ocellus-scale-'));
  const results = await Promise.allSettled([startPostgres(root), startRedis(root), startSwift(root)]);
  const [pgR, redisR, swiftR] = results;
  const running = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const teardown = async () => {
    await Promise.all(running.map((s) => s.stop()));
    rmSync(root, { recursive: true, force: true });
  };
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failed.length > 0) {
    await teardown();
    throw new Error(`scale servers failed to start:\n${failed.map((e) => e.message).join('\n')}`);
  }
  const servers: ScaleServers = {
    postgresUrl: (pgR as PromiseFulfilledResult<RunningPostgres>).value.url,
    redisUrl: (redisR as PromiseFulfilledResult<RunningRedis>).value.url,
    s3: (swiftR as PromiseFulfilledResult<RunningSwift>).value.s3,
    startMs: Math.round(performance.now() - started),
  };
  project.provide('scale', servers);
  return teardown;
}
