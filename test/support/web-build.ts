/**
 * Makes sure dist/web (the built playground) exists and is newer than its sources, building
 * it with Vite when not. `npm install` builds it already (prepare → build); this covers a
 * checkout whose web sources changed since. A lock directory keeps two test files from
 * building at once (Vite empties dist/web first, so a parallel build would pull files away
 * from under a running server).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './fixtures.js';

export const WEB_DIST = path.join(REPO_ROOT, 'dist', 'web');
// The page also bundles these src/ folders (answer parsing, the Gemini client's SSE and upload).
const SOURCES = [path.join(REPO_ROOT, 'web'), path.join(REPO_ROOT, 'src', 'overlay'), path.join(REPO_ROOT, 'src', 'providers', 'gemini', 'client')];
const LOCK = path.join(REPO_ROOT, 'dist', '.web-build.lock');

function newestMtime(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(p).reduce((m, name) => Math.max(m, newestMtime(path.join(p, name))), s.mtimeMs);
}

export function webBuildIsFresh(): boolean {
  const index = path.join(WEB_DIST, 'index.html');
  if (!existsSync(index)) return false;
  return statSync(index).mtimeMs >= Math.max(...SOURCES.map(newestMtime));
}

export async function ensureWebBuild(): Promise<void> {
  if (webBuildIsFresh()) return;
  mkdirSync(path.dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test file is building; a lock older than two minutes is left over from a crash.
      const lock = statSync(LOCK, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (webBuildIsFresh()) return;
    // vite's exports map hides bin/, but package.json is exported and bin sits beside it.
    const vite = path.join(path.dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
    await promisify(execFile)(process.execPath, [vite, 'build', '--config', path.join(REPO_ROOT, 'web', 'vite.config.ts')], {
      cwd: REPO_ROOT,
      timeout: 120_000,
    }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`Building the playground (vite build) failed:\n${(err.stderr ?? err.message).trim()}`, { cause: err });
    });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
