/**
 * Child processes the suites measure: the real Ocellus server (built dist/, started through
 * bin/ocellus.js exactly as `npx ocellus serve` does) and the bare node:http baseline.
 * Every child is stopped by its own pid (SIGTERM, then SIGKILL after a grace period), and
 * any still running when the bench exits is killed then.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { buildRequest, requestOnce } from './http-load.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const OCELLUS_BIN = path.join(REPO_ROOT, 'bin', 'ocellus.js');
const BARE_SERVER = path.join(REPO_ROOT, 'bench', 'bare-server.mjs');

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

let help: string | undefined;

/** `ocellus serve --help` of the built server, to see which flags this version has. */
export function serveHelp(): string {
  help ??= execFileSync(process.execPath, [OCELLUS_BIN, 'serve', '--help'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return help;
}

/**
 * Flags that select the engine without models (pixel measurements only), when this version
 * has a choice of engines; empty otherwise. The HTTP suites measure the server, not model
 * inference, and must not wait for models to load.
 */
export function measurementEngineArgs(): string[] {
  return /--engine\b/.test(serveHelp()) && /measurements/.test(serveHelp()) ? ['--engine', 'measurements'] : [];
}

/** A port the kernel says is free right now (there is a small race until the child binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface ProcMemory {
  /** Resident set size now. */
  rssBytes: number;
  /** Peak resident set size since the process started (VmHWM). */
  hwmBytes: number;
}

/** VmRSS and VmHWM of a process from /proc/<pid>/status. */
export function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kib('VmRSS'), hwmBytes: kib('VmHWM') };
}

export interface Child {
  pid: number;
  port: number;
  /** SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

function track(child: ChildProcess): { exited: Promise<void> } {
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
  });
  return { exited };
}

function stopper(child: ChildProcess, exited: Promise<void>) {
  return async (graceMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
}

export interface OcellusChild extends Child {
  /** Tail of the server's log (stdout + stderr), for error messages. */
  logTail(lines?: number): string;
}

/**
 * Starts `node bin/ocellus.js serve --port <free> --data-dir <dataDir> ...extraArgs`, logs
 * to `logFile`, and resolves once GET /healthz answers 200. Retries with another port if
 * the chosen one was taken in the meantime.
 */
export async function startOcellus(opts: { dataDir: string; logFile: string; extraArgs?: string[]; readyTimeoutMs?: number }): Promise<OcellusChild> {
  const readBack = (n = 20): string => {
    try {
      return readFileSync(opts.logFile, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
    } catch {
      return '(no log)';
    }
  };
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const fd = openSync(opts.logFile, 'a');
    const child = spawn(
      process.execPath,
      [OCELLUS_BIN, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', opts.dataDir, ...(opts.extraArgs ?? [])],
      { cwd: REPO_ROOT, stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    const { exited } = track(child);
    const stop = stopper(child, exited);
    const readyTimeoutMs = opts.readyTimeoutMs ?? 180_000;
    const deadline = performance.now() + readyTimeoutMs;
    const probe = buildRequest({ method: 'GET', port, path: '/healthz' });
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      try {
        const r = await requestOnce(port, probe, { timeoutMs: 2000 });
        if (r.status === 200) return { pid: child.pid!, port, stop, logTail: readBack };
      } catch {
        // not listening yet
      }
      if (performance.now() > deadline) {
        await stop(2000);
        throw new Error(`Ocellus did not become ready within ${readyTimeoutMs} ms. Log:\n${readBack()}`);
      }
      await sleep(100);
    }
    await exited;
    const log = readBack();
    if (/EADDRINUSE/.test(log) && attempt < 3) continue;
    throw new Error(`Ocellus exited during startup (code ${child.exitCode}, signal ${child.signalCode}). Log:\n${log}`);
  }
}

/** Starts bench/bare-server.mjs answering the capture in `captureFile`. */
export async function startBare(captureFile: string, readyTimeoutMs = 10_000): Promise<Child> {
  const child = spawn(process.execPath, [BARE_SERVER, captureFile], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const { exited } = track(child);
  const stop = stopper(child, exited);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bare server not ready in ${readyTimeoutMs} ms: ${err}`)), readyTimeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch {
          reject(new Error(`bare server said ${line}`));
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bare server exited (${code}): ${err}`));
    });
  }).catch(async (e: unknown) => {
    await stop(1000);
    throw e;
  });
  return { pid: child.pid!, port, stop };
}
