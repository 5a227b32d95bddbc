/**
 * The routing file: which providers exist, and per Gemini model name which of them serve
 * each capability, in order (the next one is tried when one fails or times out). YAML or
 * JSON. Values written `env:NAME` are read from the environment at load time, so keys stay
 * out of the file. The default, with no file, routes everything to the offline engine.
 * Each provider type's entry is defined in its own folder (`providers/<type>/config.ts`);
 * this file composes them and owns the rest: routes, `env:` values, references.
 *
 * ```yaml
 * providers:
 *   ollama: { type: openai, baseUrl: http://127.0.0.1:11434/v1, model: "qwen2.5vl:7b" }
 *   florence: { type: hub, model: onnx-community/Florence-2-base-ft }
 *   grounded-sam: { type: grounded-sam, grounding: florence }
 * models:
 *   "*":            { answer: [ollama, offline], detect: [florence, offline], segment: [grounded-sam, offline] }
 *   gemini-2.5-pro: { all: [ollama, offline] }
 * ```
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Capability } from '../seam/provider.js';
import { providerSpec, type ProviderSpec } from '../providers/provider-spec.js';

export const OFFLINE_PROVIDER = 'offline';

const providerList = z.array(z.string().min(1));
const modelRoute = z.strictObject({
  /** Shorthand for every capability not listed on its own. */
  all: providerList.optional(),
  answer: providerList.optional(),
  detect: providerList.optional(),
  segment: providerList.optional(),
  readText: providerList.optional(),
  classify: providerList.optional(),
});

export const routingFileSchema = z.strictObject({
  providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'provider ids are letters, digits, dot, dash, underscore'), providerSpec).default({}),
  /** Gemini model name (or `*` for every other) → capability → provider ids in order. */
  models: z.record(z.string(), modelRoute).default({}),
});

export type RoutingFile = z.infer<typeof routingFileSchema>;
export type ModelRoute = z.infer<typeof modelRoute>;

export class RoutingFileError extends Error {}

/** `env:NAME` strings → the variable's value, anywhere in the file. */
function resolveEnv(value: unknown, env: Record<string, string | undefined>, where: string): unknown {
  if (typeof value === 'string' && value.startsWith('env:')) {
    const name = value.slice(4);
    const v = env[name];
    if (v === undefined) throw new RoutingFileError(`${where}: environment variable ${name} is not set`);
    return v;
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveEnv(v, env, `${where}[${i}]`));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEnv(v, env, where ? `${where}.${k}` : k)]));
  return value;
}

/** Parses and checks a routing file's text: every provider named in a route must exist. */
export function parseRoutingFile(text: string, source: string, env: Record<string, string | undefined> = process.env): RoutingFile {
  let raw: unknown;
  try {
    raw = parseYaml(text); // YAML is a superset of JSON, so both kinds of file read here
  } catch (err) {
    throw new RoutingFileError(`${source}: not valid YAML or JSON: ${(err as Error).message}`);
  }
  const parsed = routingFileSchema.safeParse(resolveEnv(raw ?? {}, env, ''));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RoutingFileError(`${source}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  checkReferences(parsed.data, source);
  return parsed.data;
}

export function loadRoutingFile(file: string, env: Record<string, string | undefined> = process.env): RoutingFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RoutingFileError(`cannot read the routing file ${file}: ${(err as Error).message}`);
  }
  return parseRoutingFile(text, file, env);
}

export function checkReferences(file: RoutingFile, source: string): void {
  const known = new Set([OFFLINE_PROVIDER, ...Object.keys(file.providers)]);
  for (const [model, route] of Object.entries(file.models))
    for (const [cap, ids] of Object.entries(route))
      for (const id of ids ?? [])
        if (!known.has(id))
          throw new RoutingFileError(`${source}: models.${model}.${cap} names provider "${id}", which is not defined under providers (known: ${[...known].join(', ')})`);
  for (const [id, spec] of Object.entries(file.providers))
    if (spec.type === 'grounded-sam' && !known.has(spec.grounding))
      throw new RoutingFileError(`${source}: providers.${id}.grounding names provider "${spec.grounding}", which is not defined`);
  if (file.providers[OFFLINE_PROVIDER]) throw new RoutingFileError(`${source}: "${OFFLINE_PROVIDER}" is the built-in offline engine; give your provider another id`);
}

/** What `effectiveRouting` reads from the server's config: the file and the quick-setup flags. */
export interface RoutingSources {
  /** Routing file (YAML or JSON). */
  routesFile?: string | undefined;
  /** `--openai-url` etc.: an OpenAI-compatible server. */
  openai?: { baseUrl: string; model: string; apiKey?: string | undefined } | undefined;
  /** `--gemini-api-key` etc.: upstream Gemini. */
  gemini?: { apiKey: string; baseUrl?: string | undefined } | undefined;
}

const QUICK_OPENAI = 'openai';
const QUICK_GEMINI = 'gemini';

/**
 * The routing file, plus what the quick flags add: `--openai-url` puts an OpenAI-compatible
 * server (id `openai`) and `--gemini-api-key` upstream Gemini (id `gemini`) before the
 * offline engine for every model the file does not route itself.
 */
export function effectiveRouting(cfg: RoutingSources, env: Record<string, string | undefined> = process.env): RoutingFile {
  const file: RoutingFile = cfg.routesFile ? loadRoutingFile(cfg.routesFile, env) : { providers: {}, models: {} };
  const quick: Array<[string, ProviderSpec, Capability[]]> = [];
  if (cfg.openai)
    quick.push([
      QUICK_OPENAI,
      { type: 'openai', baseUrl: cfg.openai.baseUrl, model: cfg.openai.model, ...(cfg.openai.apiKey ? { apiKey: cfg.openai.apiKey } : {}) },
      ['answer', 'detect', 'readText', 'classify'],
    ]);
  if (cfg.gemini)
    quick.push([
      QUICK_GEMINI,
      { type: 'gemini', apiKey: cfg.gemini.apiKey, ...(cfg.gemini.baseUrl ? { baseUrl: cfg.gemini.baseUrl } : {}) },
      ['answer', 'detect', 'segment', 'readText', 'classify'],
    ]);
  if (quick.length === 0) return file;
  const providers = { ...file.providers };
  for (const [id, spec] of quick) {
    if (providers[id]) throw new Error(`the routing file defines a provider "${id}", which the --${id}-… flags also define; use one or the other`);
    providers[id] = spec;
  }
  const star = { ...file.models['*'] };
  for (const cap of ['answer', 'detect', 'segment', 'readText', 'classify'] as const) {
    if (star[cap] ?? star.all) continue;
    const ids = quick.filter(([, , caps]) => caps.includes(cap)).map(([id]) => id);
    if (ids.length) star[cap] = [...ids, OFFLINE_PROVIDER];
  }
  const routing = { providers, models: { ...file.models, '*': star } };
  checkReferences(routing, 'the provider flags');
  return routing;
}

/** The provider ids that serve `capability` for `modelId`, in order: the model's own route, then `*`, then the offline engine. */
export function routeFor(file: RoutingFile, modelId: string, capability: Capability): string[] {
  for (const key of [modelId, '*']) {
    const route = file.models[key];
    const ids = route?.[capability] ?? route?.all;
    if (ids) return ids;
  }
  return [OFFLINE_PROVIDER];
}
