/**
 * `ocellus pull`: a hub model repo → the local store, ready for transformers.js offline.
 * Resolves the revision to a commit, lists the repo, keeps the configs/tokenizer files and
 * only the ONNX graphs of the chosen dtype, downloads each (resumable, verified, atomic: see
 * download.ts), and writes the manifest last, so an interrupted pull never looks installed.
 * One variant of a repo is installed at a time: files of an earlier pull that the new one
 * does not list are removed after the new manifest is written.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { guessAdapter, type AdapterName } from './adapter-kind.js';
import { downloadFile } from './download.js';
import { formatDtypeSpec, parseDtypeSpec, selectFiles, DtypeError, type Dtype } from './dtype.js';
import { HubError, listTree, resolveCommit, resolveUrl, type HubOptions, type TreeEntry } from './hub-api.js';
import { MANIFEST_FORMAT, type HubManifest, type ManifestFile } from './manifest.js';
import { checkRepoId, fileIn, modelDir, readManifest, writeManifest } from './store.js';

/** What a pull reports as it goes; `createProgress` from src/cli/progress.ts fits it. */
export interface PullProgress {
  update(done: number, total?: number): void;
  note(message: string): void;
}

export interface PullOptions extends HubOptions {
  repo: string;
  revision?: string;
  /** `q8`, `fp16`, `q4,vision_encoder=fp16`…; default fp32 (transformers.js's CPU default). */
  dtype?: string;
  adapter?: AdapterName;
  modelsDir: string;
  /** Also fetch modules transformers.js would not open (separate decoders, split CLIP towers). */
  allModules?: boolean;
  retries?: number;
  retryDelayMs?: number;
  progress?: PullProgress;
  now?: () => Date;
}

export interface PullResult {
  manifest: HubManifest;
  dir: string;
  totalBytes: number;
  fetchedBytes: number;
  skippedFiles: number;
  resumedFiles: number;
  removedFiles: string[];
}

export const DEFAULT_DTYPE: Dtype = 'fp32';

export async function pullModel(opts: PullOptions): Promise<PullResult> {
  const repo = checkRepoId(opts.repo);
  const revision = opts.revision ?? 'main';
  let spec;
  try {
    spec = parseDtypeSpec(opts.dtype, DEFAULT_DTYPE);
  } catch (err) {
    throw new HubError('dtype', (err as DtypeError).message);
  }
  const hub: HubOptions = { endpoint: opts.endpoint, ...(opts.token ? { token: opts.token } : {}), ...(opts.fetch ? { fetch: opts.fetch } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
  opts.progress?.note(`resolving ${repo}@${revision} on ${opts.endpoint}`);
  let commit = await resolveCommit(hub, repo, revision);
  // Pinning to the commit makes the listing and every download one snapshot.
  const ref = commit ?? revision;
  const tree = await listTree(hub, repo, ref);
  const selection = selectFiles(tree, spec, opts.allModules ?? false);
  if (selection.modules.length === 0)
    throw new HubError(
      'no-onnx',
      `${repo} has no ONNX graphs under onnx/, so transformers.js cannot run it. Look for an ONNX build of the model (onnx-community/… or Xenova/… repos on the hub).`,
    );
  if (selection.missing.length > 0) {
    const lines = selection.missing.map((m) => `${m.module} has ${m.available.join(', ')}`).join('; ');
    throw new HubError('dtype', `${repo} has no ${formatDtypeSpec(spec)} variant of every module (${lines}). Choose --dtype from: ${selection.available.join(', ')}.`);
  }
  const dir = modelDir(opts.modelsDir, repo);
  const previous = await readManifest(opts.modelsDir, repo).catch(() => undefined);
  const totalBytes = selection.files.reduce((n, f) => n + f.size, 0);
  let doneBefore = 0;
  let fetchedBytes = 0;
  let skippedFiles = 0;
  let resumedFiles = 0;
  const files: ManifestFile[] = [];
  opts.progress?.update(0, totalBytes);
  for (const entry of selection.files) {
    opts.progress?.note(entry.path);
    const expected = expectedOf(entry);
    const r = await downloadFile({
      hub,
      url: resolveUrl(hub, repo, ref, entry.path),
      what: `${entry.path} of ${repo}`,
      repo,
      revision,
      dest: fileIn(dir, entry.path),
      expected,
      onProgress: (bytes) => opts.progress?.update(doneBefore + bytes, totalBytes),
      ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
      ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
    });
    commit ??= r.commit;
    doneBefore += entry.size;
    fetchedBytes += r.fetched;
    if (r.outcome === 'skipped') skippedFiles++;
    if (r.outcome === 'resumed') resumedFiles++;
    files.push({ path: entry.path, size: entry.size, ...(expected.sha256 ? { sha256: expected.sha256 } : {}), ...(expected.gitOid ? { gitOid: expected.gitOid } : {}) });
  }
  const modelType = await readModelType(dir);
  const adapter = opts.adapter ?? guessAdapter(repo, modelType);
  const manifest: HubManifest = {
    format: MANIFEST_FORMAT,
    repo,
    revision,
    ...(commit ? { commit } : {}),
    dtype: formatDtypeSpec(spec),
    modules: selection.modules,
    ...(adapter ? { adapter } : {}),
    ...(modelType ? { modelType } : {}),
    endpoint: opts.endpoint,
    files,
    pulledAt: (opts.now?.() ?? new Date()).toISOString(),
  };
  await writeManifest(opts.modelsDir, manifest);
  const keep = new Set(files.map((f) => f.path));
  const removedFiles = (previous?.files ?? []).map((f) => f.path).filter((p) => !keep.has(p));
  for (const p of removedFiles) await rm(fileIn(dir, p), { force: true });
  return { manifest, dir, totalBytes, fetchedBytes, skippedFiles, resumedFiles, removedFiles };
}

/** LFS files are checked by sha256; small files by their git blob id; both by size. */
function expectedOf(entry: TreeEntry): { size: number; sha256?: string; gitOid?: string } {
  if (entry.lfs && /^[0-9a-f]{64}$/.test(entry.lfs.oid)) return { size: entry.lfs.size ?? entry.size, sha256: entry.lfs.oid };
  if (entry.oid && /^[0-9a-f]{40}$/.test(entry.oid)) return { size: entry.size, gitOid: entry.oid };
  return { size: entry.size };
}

async function readModelType(dir: string): Promise<string | undefined> {
  try {
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as { model_type?: unknown };
    return typeof config.model_type === 'string' ? config.model_type : undefined;
  } catch {
    return undefined;
  }
}
