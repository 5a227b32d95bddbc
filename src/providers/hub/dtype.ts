/**
 * ONNX weight variants ("dtypes") in transformers.js repositories, and which files of a repo
 * a pull fetches for one of them.
 *
 * transformers.js repos keep every variant side by side under `onnx/`: `model.onnx` (fp32),
 * `model_fp16.onnx`, `model_quantized.onnx` (q8), `model_q4.onnx`, …, and large models split
 * the weights into `model.onnx_data` (+ `_1`, `_2` …). The suffix → dtype table is
 * transformers.js's own (`DEFAULT_DTYPE_SUFFIX_MAPPING` in src/utils/dtypes.js), so what we
 * fetch is exactly what `from_pretrained(id, { dtype })` will open.
 *
 * A dtype spec is either one dtype (`q8`) or a default plus per-module overrides
 * (`q4,vision_encoder=fp16,embed_tokens=fp16`): the same choice transformers.js accepts as
 * `dtype: { vision_encoder: 'fp16', … }`, which small VLMs need (their vision encoders degrade
 * badly at 4 bits while the decoder is fine).
 */

export const DTYPE_SUFFIXES = {
  fp32: '',
  fp16: '_fp16',
  int8: '_int8',
  uint8: '_uint8',
  q8: '_quantized',
  q4: '_q4',
  q2: '_q2',
  q1: '_q1',
  q4f16: '_q4f16',
  q2f16: '_q2f16',
  q1f16: '_q1f16',
  bnb4: '_bnb4',
} as const;

export type Dtype = keyof typeof DTYPE_SUFFIXES;

export const DTYPES = Object.keys(DTYPE_SUFFIXES) as Dtype[];

export function isDtype(s: string): s is Dtype {
  return Object.hasOwn(DTYPE_SUFFIXES, s);
}

export interface DtypeSpec {
  default: Dtype;
  /** Module (file stem without suffix, e.g. `vision_encoder`) → dtype. */
  modules: Record<string, Dtype>;
}

export class DtypeError extends Error {}

/** `q8` or `q4,vision_encoder=fp16` → the spec; throws DtypeError naming the valid values. */
export function parseDtypeSpec(text: string | undefined, fallback: Dtype = 'fp32'): DtypeSpec {
  const spec: DtypeSpec = { default: fallback, modules: {} };
  if (text === undefined || text.trim() === '') return spec;
  let sawDefault = false;
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? undefined : part.slice(0, eq).trim();
    const value = (eq < 0 ? part : part.slice(eq + 1)).trim();
    if (!isDtype(value)) throw new DtypeError(`unknown dtype "${value}" in "${text}"; use one of ${DTYPES.join(', ')}`);
    if (name === undefined || name === '*') {
      if (sawDefault) throw new DtypeError(`dtype "${text}" names two defaults`);
      sawDefault = true;
      spec.default = value;
    } else {
      if (!/^[\w.-]+$/.test(name)) throw new DtypeError(`bad module name "${name}" in dtype "${text}"`);
      spec.modules[name] = value;
    }
  }
  return spec;
}

/** The canonical text of a spec, as stored in manifests and compared between pull and load. */
export function formatDtypeSpec(spec: DtypeSpec): string {
  const overrides = Object.entries(spec.modules)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([m, d]) => `${m}=${d}`);
  return [spec.default, ...overrides].join(',');
}

export function dtypeFor(spec: DtypeSpec, module: string): Dtype {
  return spec.modules[module] ?? spec.default;
}

export interface OnnxFile {
  path: string;
  /** `decoder_model_merged` for `onnx/decoder_model_merged_q4.onnx`. */
  module: string;
  dtype: Dtype;
  /** External weights (`.onnx_data`, `.onnx_data_1`): loaded with their graph. */
  external: boolean;
}

// Longest suffix first, so `_q4f16` is never read as a module ending in `_q4f16` minus `_fp16` etc.
const SUFFIX_ORDER = (Object.entries(DTYPE_SUFFIXES) as Array<[Dtype, string]>)
  .filter(([, s]) => s !== '')
  .sort((a, b) => b[1].length - a[1].length);

/** Reads an `onnx/…` path as module + dtype; undefined for anything else. */
export function parseOnnxPath(path: string): OnnxFile | undefined {
  const m = /^onnx\/([^/]+)\.onnx(_data(?:_\d+)?)?$/.exec(path);
  if (!m) return undefined;
  const stem = m[1]!;
  for (const [dtype, suffix] of SUFFIX_ORDER)
    if (stem.endsWith(suffix) && stem.length > suffix.length)
      return { path, module: stem.slice(0, -suffix.length), dtype, external: m[2] !== undefined };
  return { path, module: stem, dtype: 'fp32', external: m[2] !== undefined };
}

/**
 * Modules transformers.js never opens when a sibling exists: a merged decoder replaces the
 * separate first-step and with-past decoders, and a joint `model` replaces the split CLIP
 * towers. Skipping them halves some downloads.
 */
const SUPERSEDED: Array<{ when: string; skip: string[] }> = [
  { when: 'decoder_model_merged', skip: ['decoder_model', 'decoder_with_past_model'] },
  { when: 'model', skip: ['text_model', 'vision_model'] },
];

/** Top-level files a model needs besides its graphs: configs, tokenizers, chat templates. */
export function isSupportFile(path: string): boolean {
  if (path.includes('/')) return false;
  return /\.(json|txt|model|jinja|tiktoken)$/i.test(path) && !/^(\.|README)/i.test(path);
}

export interface RepoEntry {
  path: string;
  size: number;
}

export interface Selection<T extends RepoEntry> {
  files: T[];
  /** Modules that have no file of the dtype asked for, with the dtypes they do have. */
  missing: Array<{ module: string; dtype: Dtype; available: Dtype[] }>;
  /** Every dtype some module is available in (for messages). */
  available: Dtype[];
  modules: string[];
}

/**
 * The files to fetch for `spec`: every support file, plus each needed module's graph (and
 * external data) in the dtype the spec gives it. `allModules` keeps superseded ones too.
 */
export function selectFiles<T extends RepoEntry>(entries: readonly T[], spec: DtypeSpec, allModules = false): Selection<T> {
  const onnx = entries.flatMap((e) => {
    const p = parseOnnxPath(e.path);
    return p ? [{ entry: e, onnx: p }] : [];
  });
  const byModule = new Map<string, Set<Dtype>>();
  for (const { onnx: o } of onnx) {
    if (o.external) continue;
    const set = byModule.get(o.module) ?? new Set<Dtype>();
    set.add(o.dtype);
    byModule.set(o.module, set);
  }
  let modules = [...byModule.keys()];
  if (!allModules) {
    const skipped = new Set(SUPERSEDED.filter((r) => byModule.has(r.when)).flatMap((r) => r.skip));
    modules = modules.filter((m) => !skipped.has(m));
  }
  modules.sort();
  const wanted = new Map(modules.map((m) => [m, dtypeFor(spec, m)] as const));
  const missing = modules
    .filter((m) => !byModule.get(m)!.has(wanted.get(m)!))
    .map((m) => ({ module: m, dtype: wanted.get(m)!, available: [...byModule.get(m)!].sort() }));
  const files = entries.filter((e) => {
    if (isSupportFile(e.path)) return true;
    const o = parseOnnxPath(e.path);
    return o !== undefined && wanted.get(o.module) === o.dtype;
  });
  const available = [...new Set([...byModule.values()].flatMap((s) => [...s]))].sort();
  return { files, missing, available, modules };
}

/**
 * The `dtype` option for transformers.js `from_pretrained`: a string, or one entry per module
 * when overridden. transformers.js reads a module missing from the object as the device
 * default (fp32, checked with hasOwnProperty), so every pulled module is listed explicitly.
 */
export function transformersDtype(spec: DtypeSpec, modules: readonly string[]): string | Record<string, string> {
  if (Object.keys(spec.modules).length === 0) return spec.default;
  return Object.fromEntries([...new Set([...modules, ...Object.keys(spec.modules)])].map((m) => [m, dtypeFor(spec, m)]));
}
