/** The real CLI in a child process: `ocellus pull` against the mock hub via HF_ENDPOINT, then `ocellus models`. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/fixtures.js';
import { florenceLikeRepo, startMockHub, type MockHub } from './mock-hub.js';

const run = promisify(execFile);
let hub: MockHub;
let dir: string;

beforeAll(async () => {
  hub = await startMockHub({ 'onnx-community/Florence-2-base-ft': florenceLikeRepo() });
  dir = await mkdtemp(path.join(tmpdir(), 'ocellus-cli-'));
});
afterAll(async () => {
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

const ocellus = (args: string[], env: Record<string, string> = {}) =>
  run('npx', ['tsx', 'src/main.ts', ...args], { cwd: REPO_ROOT, env: { ...process.env, HF_ENDPOINT: hub.url, ...env }, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('ocellus pull / models (child process)', () => {
  it('pulls through HF_ENDPOINT and lists the model', async () => {
    const pulled = await ocellus(['pull', 'onnx-community/Florence-2-base-ft', '--dtype', 'q8', '--models-dir', dir]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stdout).toContain('onnx-community/Florence-2-base-ft@aaaaaaaaaaaa (q8)');
    expect(pulled.stdout).toContain('adapter: florence2; capabilities: answer, detect, segment, readText');
    expect(pulled.stderr).toMatch(/pull onnx-community\/Florence-2-base-ft: 8 files, [\d.]+ KiB/);
    expect(hub.requests.some((q) => q.url.includes('/resolve/'))).toBe(true);

    const listed = await ocellus(['models'], { OCELLUS_MODELS_DIR: dir });
    expect(listed.code, listed.stderr).toBe(0);
    const [head, row] = listed.stdout.trim().split('\n');
    expect(head).toMatch(/^MODEL\s+REVISION\s+DTYPE\s+SIZE\s+ADAPTER\s+CAPABILITIES$/);
    expect(row).toMatch(/^onnx-community\/Florence-2-base-ft\s+main \(aaaaaaaaaaaa\)\s+q8\s+\d+\.\d KiB\s+florence2\s+answer, detect, segment, readText$/);
  });

  it('an unknown model fails with exit code 1 and says so', async () => {
    const r = await ocellus(['pull', 'nobody/nothing', '--models-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed: model nobody\/nothing was not found on the hub/);
  });
});
