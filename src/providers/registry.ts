/**
 * Builds the providers the routing file defines (and the quick-setup flags add), each from
 * its factory with the dependencies it needs. The only place that knows every provider type.
 */
import type { Logger } from 'pino';
import type { ProvidersConfig } from '../config.js';
import type { FileOpener } from '../seam/files.js';
import type { Capability, Provider, ProviderDeps } from '../seam/provider.js';
import { loadRoutingFile, checkReferences, OFFLINE_PROVIDER, type ProviderSpec, type RoutingFile } from '../engine/routing-file.js';
import { createOpenAiProvider } from './openai/provider.js';
import { createGeminiProvider } from './gemini/provider.js';
import { createHubProvider } from './hub/provider.js';
import { HubModelLoader } from './hub/loader.js';
import { createGroundedSamProvider, type SegmentBoxes } from './grounded-sam.js';

export interface RegistryDeps {
  logger: Logger;
  files: FileOpener;
  offline: Provider;
  /** SAM on given boxes, when the offline segmenter is loaded (grounded-sam needs it). */
  segmentBoxes: SegmentBoxes | undefined;
  fetch?: typeof fetch;
}

export interface ProviderSet {
  routing: RoutingFile;
  providers: Map<string, Provider>;
  close(): Promise<void>;
}

const QUICK_OPENAI = 'openai';
const QUICK_GEMINI = 'gemini';

/**
 * The routing file, plus what the quick flags add: `--openai-url` puts an OpenAI-compatible
 * server (id `openai`) and `--gemini-api-key` upstream Gemini (id `gemini`) before the
 * offline engine for every model the file does not route itself.
 */
export function effectiveRouting(cfg: ProvidersConfig, env: Record<string, string | undefined> = process.env): RoutingFile {
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

export function createProviders(cfg: ProvidersConfig, routing: RoutingFile, deps: RegistryDeps): ProviderSet {
  const base: ProviderDeps = { logger: deps.logger, timeoutMs: cfg.timeoutMs, ...(deps.fetch ? { fetch: deps.fetch } : {}) };
  const providers = new Map<string, Provider>([[OFFLINE_PROVIDER, deps.offline]]);
  let loader: HubModelLoader | undefined;
  const restrict = (p: Provider, spec: ProviderSpec): Provider => {
    if (!spec.capabilities) return p;
    const allowed = new Set(spec.capabilities);
    return Object.assign(Object.create(p) as Provider, { capabilities: p.capabilities.filter((c) => allowed.has(c)) });
  };
  const entries = Object.entries(routing.providers);
  // Grounded SAM is built over another provider, so plain providers come first.
  for (const [id, spec] of entries) {
    const timeout = { ...base, timeoutMs: spec.timeoutMs ?? cfg.timeoutMs };
    let p: Provider | undefined;
    if (spec.type === 'openai') p = createOpenAiProvider(id, spec, timeout);
    else if (spec.type === 'gemini') p = createGeminiProvider(id, spec, { ...timeout, files: deps.files });
    else if (spec.type === 'hub')
      p = createHubProvider(id, spec, { ...timeout, modelsDir: cfg.modelsDir, loader: (loader ??= new HubModelLoader({ maxBytes: cfg.hubMemoryBytes, logger: deps.logger })) });
    if (p) providers.set(id, restrict(p, spec));
  }
  for (const [id, spec] of entries) {
    if (spec.type !== 'grounded-sam') continue;
    if (!deps.segmentBoxes)
      throw new Error(`providers.${id}: grounded-sam needs the offline SAM segmenter, which is not loaded (--engine vision, without --no-segment)`);
    providers.set(id, restrict(createGroundedSamProvider(id, spec, providers.get(spec.grounding)!, deps.segmentBoxes), spec));
  }
  return {
    routing,
    providers,
    async close() {
      await Promise.allSettled([...providers.values()].map((p) => p.close?.()));
      await loader?.close();
    },
  };
}
