/**
 * The manifest `ocellus pull` writes last, after every file is verified and in place: a
 * model counts as installed exactly when its manifest exists and parses. It says where the
 * files came from (repo, revision, the commit they were resolved at), which ONNX variant was
 * fetched, which adapter runs it, and each file's size and sha256 (for LFS files) so `models`
 * can report sizes and a later pull can skip what is already right.
 */
import { z } from 'zod';
import { ADAPTER_NAMES, type AdapterName } from './adapter-kind.js';

export const MANIFEST_FILE = 'ocellus-manifest.json';
export const MANIFEST_FORMAT = 1;

const manifestFile = z.object({
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  /** sha256 hex of the content (LFS files: the hub's lfs.oid). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** git blob id (sha1) for small non-LFS files, as the tree API lists it. */
  gitOid: z.string().regex(/^[0-9a-f]{40}$/).optional(),
});

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  repo: z.string().min(1),
  /** What was asked for: a branch, tag or commit. */
  revision: z.string().min(1),
  /** The commit the files were resolved at, when the hub said (revision API or X-Repo-Commit). */
  commit: z.string().optional(),
  /** Canonical dtype spec (`q8`, `q4,vision_encoder=fp16`). */
  dtype: z.string().min(1),
  /** The ONNX modules pulled (`vision_encoder`, `decoder_model_merged`, …). */
  modules: z.array(z.string()),
  adapter: z.enum(ADAPTER_NAMES).optional(),
  /** config.json's model_type, when present. */
  modelType: z.string().optional(),
  endpoint: z.string(),
  files: z.array(manifestFile),
  pulledAt: z.string(),
});

export type HubManifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof manifestFile>;

export class ManifestError extends Error {}

export function parseManifest(text: string, where: string): HubManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(`${where}: not JSON: ${(err as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ManifestError(`${where}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Bytes of the ONNX graphs and their external data: what loading the model costs in memory, roughly. */
export function weightBytes(manifest: Pick<HubManifest, 'files'>): number {
  return manifest.files.filter((f) => /^onnx\/.+\.onnx(_data(_\d+)?)?$/.test(f.path)).reduce((n, f) => n + f.size, 0);
}
