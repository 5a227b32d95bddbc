/**
 * The routing file: which providers exist, and per Gemini model name which of them serve
 * each capability, in order (the next one is tried when one fails or times out). YAML or
 * JSON. Values written `env:NAME` are read from the environment at load time, so keys stay
 * out of the file. The default, with no file, routes everything to the offline engine.
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
import { CAPABILITIES, type Capability } from '../seam/provider.js';

export const OFFLINE_PROVIDER = 'offline';

const capability = z.enum(CAPABILITIES as [Capability, ...Capability[]]);
const common = {
  /** Restricts what the provider is asked for (it is never asked for more than it can do). */
  capabilities: z.array(capability).optional(),
  /** Most milliseconds for the first byte of an answer and between streamed pieces. */
  timeoutMs: z.number().int().positive().optional(),
};

export const openAiProviderSpec = z.strictObject({
  type: z.literal('openai'),
  /** Base URL including `/v1`: `http://127.0.0.1:11434/v1` (Ollama), `http://gpu:8000/v1` (vLLM). */
  baseUrl: z.url(),
  /** The served model's name (`qwen2.5vl:7b`, `Qwen/Qwen2.5-VL-7B-Instruct`). */
  model: z.string().min(1),
  apiKey: z.string().optional(),
  /** Grounding prompt and coordinate convention; guessed from `model` when absent. */
  family: z.enum(['qwen2.5-vl', 'qwen3-vl', 'internvl', 'gemma3', 'generic']).optional(),
  /** Whether the server accepts `response_format: {type: "json_schema"}` (vLLM, Ollama, llama.cpp do). */
  jsonSchema: z.boolean().optional(),
  /** Longest image side sent to the server; larger images are scaled down first. */
  maxImageSide: z.number().int().positive().optional(),
  ...common,
});

export const geminiProviderSpec = z.strictObject({
  type: z.literal('gemini'),
  baseUrl: z.url().optional(),
  apiKey: z.string().min(1),
  /** Upstream model name; the requested name when absent. */
  model: z.string().optional(),
  apiVersion: z.enum(['v1beta', 'v1']).optional(),
  ...common,
});

export const hubProviderSpec = z.strictObject({
  type: z.literal('hub'),
  /** Hub repository id, as pulled: `onnx-community/Florence-2-base-ft`. */
  model: z.string().min(1),
  /** Which adapter runs it; guessed from the model id when absent. */
  adapter: z.enum(['florence2', 'chat-vlm', 'owlv2', 'clip']).optional(),
  /** ONNX weight variant (`fp32`, `fp16`, `q8`, `q4`…), as pulled. */
  dtype: z.string().optional(),
  ...common,
});

export const groundedSamProviderSpec = z.strictObject({
  type: z.literal('grounded-sam'),
  /** The provider whose `detect` finds the boxes that the local SAM turns into masks. */
  grounding: z.string().min(1),
  ...common,
});

export const providerSpec = z.discriminatedUnion('type', [openAiProviderSpec, geminiProviderSpec, hubProviderSpec, groundedSamProviderSpec]);

export type OpenAiProviderSpec = z.infer<typeof openAiProviderSpec>;
export type GeminiProviderSpec = z.infer<typeof geminiProviderSpec>;
export type HubProviderSpec = z.infer<typeof hubProviderSpec>;
export type GroundedSamProviderSpec = z.infer<typeof groundedSamProviderSpec>;
export type ProviderSpec = z.infer<typeof providerSpec>;

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

/** The provider ids that serve `capability` for `modelId`, in order: the model's own route, then `*`, then the offline engine. */
export function routeFor(file: RoutingFile, modelId: string, capability: Capability): string[] {
  for (const key of [modelId, '*']) {
    const route = file.models[key];
    const ids = route?.[capability] ?? route?.all;
    if (ids) return ids;
  }
  return [OFFLINE_PROVIDER];
}
