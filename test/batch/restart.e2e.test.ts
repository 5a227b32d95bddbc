/**
 * Kill -9 mid-batch (embedded): `ocellus serve` runs as a child process on a data dir; once
 * some requests of a batch are answered it is killed without warning, started again on the
 * same data dir, and the batch completes with every request answered exactly once, in
 * order, each answer the one its request gets when sent directly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures.js';
import { freePort, stopPid, waitUntil } from '../support/scale/processes.js';
import { contentOf, MODEL, photoRequests, rest, until } from './helpers.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-batch-restart-'));
let child: ChildProcess | undefined;

function serve(port: number): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, OCELLUS_LOG_LEVEL: 'warn' };
  for (const k of ['OCELLUS_API_KEYS', 'OCELLUS_PORT', 'OCELLUS_DATA_DIR']) delete env[k];
  const args = ['--import', 'tsx', 'src/main.ts', 'serve', '--port', String(port), '--data-dir', dataDir, '--no-warm', '--vision-threads', '1', '--no-segment', '--no-ocr'];
  const c = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  c.on('error', () => {});
  return c;
}

async function started(port: number): Promise<string> {
  const base = `http://127.0.0.1:${port}`;
  await waitUntil('ocellus serve', async () => (await fetch(`${base}/healthz`)).ok, 120_000);
  return base;
}

afterAll(async () => {
  await stopPid(child?.pid, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('restart mid-batch', () => {
  it('a batch whose server was killed -9 completes after a restart with every request exactly once', { timeout: 600_000 }, async () => {
    const n = 8;
    const requests = photoRequests(n);
    let port = await freePort();
    child = serve(port);
    let base = await started(port);
    const created = await rest(base, `/v1beta/models/${MODEL}:batchGenerateContent`, {
      body: { batch: { inputConfig: { requests: { requests: requests.map((request, i) => ({ request, metadata: { key: `k${i}` } })) } } } },
    });
    expect(created.status).toBe(200);
    const name: string = created.json.name;

    const before = await until('some requests to be answered', async () => {
      const s = (await rest(base, `/v1beta/${name}`)).json.metadata.batchStats;
      return Number(s.successfulRequestCount) >= 2 ? s : undefined;
    });
    process.kill(child.pid!, 'SIGKILL');
    await new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    expect(Number(before.successfulRequestCount)).toBeLessThan(n);

    port = await freePort();
    child = serve(port);
    base = await started(port);
    const done = await until('the batch to finish after the restart', async () => {
      const j = (await rest(base, `/v1beta/${name}`)).json;
      return j.done ? j : undefined;
    });
    expect(done.metadata.state).toBe('BATCH_STATE_SUCCEEDED');
    expect(done.metadata.batchStats).toMatchObject({ requestCount: String(n), successfulRequestCount: String(n), pendingRequestCount: '0' });
    const answers = done.metadata.output.inlinedResponses.inlinedResponses as Array<{ metadata: { key: string }; response: unknown }>;
    expect(answers.map((a) => a.metadata.key)).toEqual(requests.map((_, i) => `k${i}`));
    for (const [i, request] of requests.entries()) {
      const direct = await rest(base, `/v1beta/models/${MODEL}:generateContent`, { body: request });
      expect(contentOf(answers[i]!.response), `k${i}`).toEqual(contentOf(direct.json));
    }
  });
});
