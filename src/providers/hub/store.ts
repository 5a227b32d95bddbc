/**
 * The local model store: `<modelsDir>/<owner>/<name>/` holds a repo's files in the hub's own
 * layout, which is exactly where transformers.js looks with `env.localModelPath = modelsDir`
 * (it ignores revisions for local files, so one revision of a repo is installed at a time),
 * plus the manifest. Writes go to a temporary name and are renamed, so a reader never sees
 * half a manifest.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_FILE, ManifestError, parseManifest, type HubManifest } from './manifest.js';

/** `owner/name` (or a bare legacy `name`): letters, digits, `.`, `_`, `-`; never `..`. */
const REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

export class RepoIdError extends Error {}

export function checkRepoId(repo: string): string {
  if (!REPO_ID.test(repo) || repo.split('/').some((p) => p === '..' || p.endsWith('.')))
    throw new RepoIdError(`"${repo}" is not a hub model id; expected owner/name, e.g. onnx-community/Florence-2-base-ft`);
  return repo;
}

export function modelDir(modelsDir: string, repo: string): string {
  return path.join(modelsDir, ...checkRepoId(repo).split('/'));
}

/** Resolves a repo-relative file path inside the model dir; refuses anything that would escape it. */
export function fileIn(dir: string, relative: string): string {
  const full = path.resolve(dir, relative);
  if (!full.startsWith(path.resolve(dir) + path.sep)) throw new RepoIdError(`file path "${relative}" leaves the model directory`);
  return full;
}

export async function readManifest(modelsDir: string, repo: string): Promise<HubManifest | undefined> {
  const file = path.join(modelDir(modelsDir, repo), MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseManifest(text, file);
}

export async function writeManifest(modelsDir: string, manifest: HubManifest): Promise<void> {
  const dir = modelDir(modelsDir, manifest.repo);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `${MANIFEST_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n');
  await rename(tmp, path.join(dir, MANIFEST_FILE));
}

export interface InstalledModel {
  manifest: HubManifest;
  dir: string;
  /** Bytes of the manifest's files that are on disk. */
  bytesOnDisk: number;
  /** Manifest files that are gone (deleted by hand): the model will not load. */
  missingFiles: string[];
}

export interface ListResult {
  models: InstalledModel[];
  /** Manifests that could not be read, with why. */
  broken: Array<{ dir: string; error: string }>;
}

/** Every installed model under modelsDir (manifests at depth 1 or 2), sorted by repo. */
export async function listInstalled(modelsDir: string): Promise<ListResult> {
  const result: ListResult = { models: [], broken: [] };
  if (!existsSync(modelsDir)) return result;
  const candidates: string[] = [];
  for (const owner of await readdir(modelsDir, { withFileTypes: true })) {
    if (!owner.isDirectory()) continue;
    const ownerDir = path.join(modelsDir, owner.name);
    candidates.push(ownerDir);
    for (const name of await readdir(ownerDir, { withFileTypes: true })) if (name.isDirectory()) candidates.push(path.join(ownerDir, name.name));
  }
  for (const dir of candidates) {
    const file = path.join(dir, MANIFEST_FILE);
    if (!existsSync(file)) continue;
    try {
      const manifest = parseManifest(await readFile(file, 'utf8'), file);
      let bytes = 0;
      const missing: string[] = [];
      for (const f of manifest.files) {
        try {
          bytes += (await stat(path.join(dir, f.path))).size;
        } catch {
          missing.push(f.path);
        }
      }
      result.models.push({ manifest, dir, bytesOnDisk: bytes, missingFiles: missing });
    } catch (err) {
      result.broken.push({ dir, error: err instanceof ManifestError ? err.message : String(err) });
    }
  }
  result.models.sort((a, b) => a.manifest.repo.localeCompare(b.manifest.repo));
  return result;
}
