/**
 * One Ocellus replica as a user runs it: `ocellus serve` (node + tsx on src/main.ts) in a
 * child process of its own, with the shared PostgreSQL, S3 store and Redis of the run, a
 * data dir of its own (spool and local copies only), on an ephemeral loopback port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScaleServers } from '../support/scale/context.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Shared {
  databaseUrl: string;
  storageUrl: string;
  redisUrl: string;
  s3: ScaleServers['s3'];
}

export interface Replica {
  name: string;
  baseUrl: string;
  child: ChildProcess;
  logs(): string;
  /** SIGKILL: no shutdown, no cleanup, leases left as they are. */
  kill9(): Promise<void>;
  /** SIGTERM and wait; removes the data dir. */
  stop(): Promise<void>;
}

export { storageUrlOf } from '../support/scale/databases.js';

export async function startReplica(name: string, shared: Shared, extra: string[] = []): Promise<Replica> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `ocellus-replica-${name}-`));
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', 'src/main.ts', 'serve',
      '--port', '0',
      '--data-dir', dataDir,
      '--log-level', 'info',
      '--engine', 'measurements',
      '--database-url', shared.databaseUrl,
      '--storage-url', shared.storageUrl,
      '--redis-url', shared.redisUrl,
      '--shutdown-grace-seconds', '2',
      ...extra,
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: shared.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: shared.s3.secretAccessKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${name} did not start:\n${out.slice(-4000)}`)), 110_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`replica ${name} exited ${code}:\n${out.slice(-4000)}`));
    });
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await settle(baseUrl);
  const waitExit = async (ms: number) => {
    await Promise.race([exited, new Promise((r) => setTimeout(r, ms))]);
  };
  return {
    name,
    baseUrl,
    child,
    logs: () => out,
    async kill9() {
      child.kill('SIGKILL');
      await waitExit(5000);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await waitExit(10_000);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until the replica's start-up work in the background (the tokenizer loading, first
 * connections) is over: /healthz answering in under 100 ms three times in a row. On a
 * loaded 2-core machine three replicas starting together keep each other busy for seconds,
 * and a first upload chunk would otherwise take most of a test's time.
 */
/**
 * GET /healthz on a connection of its own: a pooled keep-alive connection left idle here
 * could be closed by the server just as the test's next request reuses it (ECONNRESET).
 */
function healthz(baseUrl: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}/healthz`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
  });
}

async function settle(baseUrl: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quick = 0;
  while (quick < 3 && Date.now() < deadline) {
    const t = performance.now();
    await healthz(baseUrl).catch(() => undefined);
    quick = performance.now() - t < 100 ? quick + 1 : 0;
    await new Promise((r) => setTimeout(r, 200));
  }
}
