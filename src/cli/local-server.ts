/**
 * The server `ocellus ask` starts in-process when no --url is given: the real composition
 * root on 127.0.0.1 with an ephemeral port and a throwaway data dir, so a one-off question
 * goes through exactly the HTTP path a running server would serve.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { createServer } from '../server/create-server.js';
import { checkModelsInstalled } from './preflight.js';
import type { Progress } from './progress.js';

export interface LocalServer {
  baseUrl: string;
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/**
 * The environment the local server's config reads: OCELLUS_* model switches
 * (OCELLUS_SEGMENT=0, OCELLUS_DETECTOR, …) still apply, but nothing that would make it
 * reachable or keyed, since only this process talks to it. One model thread unless told
 * otherwise: a single question gains nothing from loading every model twice.
 */
export function localServerEnv(env: Env): Env {
  const out: Env = { ...env };
  for (const k of ['OCELLUS_PORT', 'OCELLUS_HOST', 'OCELLUS_DATA_DIR', 'OCELLUS_PUBLIC_URL', 'OCELLUS_API_KEYS', 'OCELLUS_LOG_LEVEL']) delete out[k];
  out.OCELLUS_VISION_THREADS ??= '1';
  return out;
}

/**
 * What would stop the local server before it starts (a bad OCELLUS_* value, a detector
 * whose weights are not installed), thrown as ConfigError / UserError with one line to
 * print; ask calls it before showing any progress.
 */
export function checkLocalServer(env: Env): void {
  checkModelsInstalled(loadConfig({ port: 0, host: '127.0.0.1', dataDir: os.tmpdir(), logLevel: 'silent' }, localServerEnv(env)));
}

export async function startLocalServer(progress: Progress, env: Env): Promise<LocalServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ocellus-ask-'));
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  try {
    const config = loadConfig({ port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent' }, localServerEnv(env));
    const server = await createServer(config);
    progress.note('loading the offline models…');
    const started = performance.now();
    let address: string;
    try {
      address = await server.listen();
    } catch (err) {
      await server.close().catch(() => undefined);
      throw err;
    }
    progress.done(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return {
      baseUrl: address.replace('://localhost', '://127.0.0.1'),
      async close() {
        try {
          await server.close();
        } finally {
          await removeDir();
        }
      },
    };
  } catch (err) {
    progress.fail((err as Error).message);
    await removeDir();
    throw err;
  }
}
