/**
 * Headless Chromium for the browser tests: Debian's `chromium` package, installed on first
 * use, driven by playwright-core (which ships no browser of its own).
 *
 * `ensureChromium` is idempotent and safe when several test files call it at once: an
 * exclusive lock directory makes one of them run apt-get while the others wait for it.
 * `launchChromium` starts it with the flags that keep it quiet on a closed network (no
 * component updates, sync, QUIC or background fetches that would flood the logs with
 * connection errors) and a fresh profile per launch (playwright makes a temporary
 * --user-data-dir for every `launch`).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const LOCK = path.join(os.tmpdir(), 'ocellus-chromium-install.lock');
/** A lock older than this belongs to a run that died; apt-get never takes this long here. */
const STALE_LOCK_MS = 15 * 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM_PATH)) return;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (existsSync(CHROMIUM_PATH)) return;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        /* removed meanwhile */
      }
      await sleep(1000);
    }
  }
  try {
    if (existsSync(CHROMIUM_PATH)) return;
    const run = promisify(execFile);
    const asRoot = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const apt = async (...args: string[]) => {
      const [cmd, ...rest] = [...asRoot, 'apt-get', ...args];
      await run(cmd!, rest, { env, maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60_000 });
    };
    try {
      await apt('update');
      await apt('install', '-y', '--no-install-recommends', 'chromium');
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`Installing Debian's chromium for the browser tests failed (needs root or passwordless sudo):\n${(e.stderr ?? e.message).trim()}`, {
        cause: err,
      });
    }
    if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is missing`);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export async function launchChromium(): Promise<Browser> {
  await ensureChromium();
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}
