/**
 * Builds the providers the routing file defines (engine/routing-file.ts, with what the
 * quick-setup flags add), each from its factory with the dependencies it needs. With
 * provider-spec.ts, the only place that knows every provider type.
 */
import type { Logger } from 'pino';
import type { FileOpener } from '../seam/files.js';
import type { Provider, ProviderDeps } from '../seam/provider.js';
import type { ProviderSpec } from './provider-spec.js';
import { createOpenAiProvider } from './openai/provider.js';
import { createGeminiProvider } from './gemini/provider.js';
import { createHubProvider } from './hub/provider.js';
import { HubModelLoader } from './hub/loader.js';
import { createGroundedSamProvider, type SegmentBoxes } from './grounded-sam/provider.js';

/** The server settings the providers read (a part of the server config's `providers`). */
export interface RegistryConfig {
  /** Default deadline for the first byte and between streamed pieces. */
  timeoutMs: number;
  /** Where `ocellus pull` put hub models. */
  modelsDir: string;
  /** Most bytes of hub model weights kept loaded at once. */
  hubMemoryBytes: number;
}

export interface RegistryDeps {
  logger: Logger;
  files: FileOpener;
  /** The built-in offline engine; it keeps its own id (`offline`), which routes name. */
  offline: Provider;
  /** SAM on given boxes, when the offline segmenter is loaded (grounded-sam needs it). */
  segmentBoxes: SegmentBoxes | undefined;
  fetch?: typeof fetch;
}

/** The parsed routing file, as far as building providers goes: the rest is carried through for the router. */
export interface ProviderDefinitions {
  providers: Record<string, ProviderSpec>;
}

export interface ProviderSet<R extends ProviderDefinitions = ProviderDefinitions> {
  routing: R;
  providers: Map<string, Provider>;
  close(): Promise<void>;
}

export function createProviders<R extends ProviderDefinitions>(cfg: RegistryConfig, routing: R, deps: RegistryDeps): ProviderSet<R> {
  const base: ProviderDeps = { logger: deps.logger, timeoutMs: cfg.timeoutMs, ...(deps.fetch ? { fetch: deps.fetch } : {}) };
  const providers = new Map<string, Provider>([[deps.offline.id, deps.offline]]);
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
