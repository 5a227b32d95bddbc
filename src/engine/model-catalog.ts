/**
 * The model catalogue: the Gemini model names clients use, each mapped to Ocellus's
 * engine and to the token-accounting family of the model it stands in for. The seed's
 * code names `gemini-2.5-flash`; other clients name older or newer ones. All of them run
 * on the same local engine; what differs is how tokens are counted (the entry's `family`,
 * which media/tokens.ts maps to an image token policy).
 */
import type { ModelFamily } from '../media/tokens.js';
import type { ModelEntry } from '../seam/model.js';

export interface ModelCatalog {
  list(): readonly ModelEntry[];
  /** Resolves `gemini-2.5-flash`, `models/gemini-2.5-flash`, pinned versions and `-latest` aliases. */
  find(name: string): ModelEntry | undefined;
}

const ENGINE_NOTE = 'Served by Ocellus.';

function entry(id: string, displayName: string, family: ModelFamily, extra: Partial<ModelEntry> = {}): ModelEntry {
  const modern = family === 'gemini-2' || family === 'gemini-3';
  return {
    id,
    displayName,
    description: `${displayName} API name. ${ENGINE_NOTE}`,
    family,
    version: '001',
    inputTokenLimit: family === 'gemini-1.0' ? 12288 : 1048576,
    outputTokenLimit: modern ? 65536 : 8192,
    thinking: id.startsWith('gemini-2.5') || family === 'gemini-3',
    ...extra,
  };
}

export const DEFAULT_MODELS: readonly ModelEntry[] = [
  entry('gemini-2.5-flash', 'Gemini 2.5 Flash', 'gemini-2'),
  entry('gemini-2.5-pro', 'Gemini 2.5 Pro', 'gemini-2'),
  entry('gemini-2.5-flash-lite', 'Gemini 2.5 Flash-Lite', 'gemini-2'),
  entry('gemini-2.0-flash', 'Gemini 2.0 Flash', 'gemini-2', { outputTokenLimit: 8192 }),
  entry('gemini-2.0-flash-lite', 'Gemini 2.0 Flash-Lite', 'gemini-2', { outputTokenLimit: 8192 }),
  entry('gemini-1.5-flash', 'Gemini 1.5 Flash', 'gemini-1.5'),
  entry('gemini-1.5-flash-8b', 'Gemini 1.5 Flash-8B', 'gemini-1.5'),
  entry('gemini-1.5-pro', 'Gemini 1.5 Pro', 'gemini-1.5', { inputTokenLimit: 2097152 }),
  entry('gemini-1.0-pro-vision', 'Gemini 1.0 Pro Vision', 'gemini-1.0'),
  entry('gemini-3-flash-preview', 'Gemini 3 Flash Preview', 'gemini-3'),
  entry('gemini-3-pro-preview', 'Gemini 3 Pro Preview', 'gemini-3'),
  entry('gemini-3.1-flash-lite-preview', 'Gemini 3.1 Flash-Lite Preview', 'gemini-3'),
  entry('gemini-3.5-flash', 'Gemini 3.5 Flash', 'gemini-3'),
  entry('gemini-flash-latest', 'Gemini Flash Latest', 'gemini-2'),
  entry('gemini-pro-latest', 'Gemini Pro Latest', 'gemini-2'),
];

/**
 * Names not listed but clearly of a known family (`gemini-2.5-flash-preview-05-20`,
 * `gemini-1.5-flash-002`, `gemini-3-pro-image-preview`) resolve to that family so that
 * client code pinned to a dated name keeps working. Anything else is unknown (404).
 */
const FAMILY_PATTERNS: Array<[RegExp, ModelFamily]> = [
  [/^gemini-3(\.\d+)?-[a-z0-9.-]+$/, 'gemini-3'],
  [/^gemini-2\.[05]-[a-z0-9.-]+$/, 'gemini-2'],
  [/^gemini-1\.5-[a-z0-9.-]+$/, 'gemini-1.5'],
  [/^gemini-1\.0-pro-vision(-[a-z0-9.-]+)?$/, 'gemini-1.0'],
];

/**
 * Model names a routing file adds (`qwen-vl` routed to a VLM server): served under their own
 * name, counted like Gemini 2.x, so a client can ask for them by name.
 */
export function withRoutedModels(models: readonly ModelEntry[], names: readonly string[]): ModelEntry[] {
  const catalog = createModelCatalog(models);
  const extra = names
    .filter((n) => n !== '*' && !catalog.find(n))
    .map((id) => entry(id, id, 'gemini-2', { description: `Routed by the Ocellus routing file. ${ENGINE_NOTE}`, thinking: false }));
  return [...models, ...extra];
}

export function createModelCatalog(models: readonly ModelEntry[] = DEFAULT_MODELS): ModelCatalog {
  const byId = new Map(models.map((m) => [m.id, m]));
  return {
    list: () => models,
    find(name) {
      const id = name.replace(/^models\//, '').trim();
      const known = byId.get(id);
      if (known) return known;
      for (const [pattern, family] of FAMILY_PATTERNS) {
        if (pattern.test(id)) return entry(id, id, family, { description: `Alias resolved by family. ${ENGINE_NOTE}` });
      }
      return undefined;
    },
  };
}
