/**
 * Provider calls, errors and fallbacks, and a span per provider call, taken by wrapping
 * each provider the router is handed. The router passes one context object to every
 * provider it tries for a request, so a call that arrives with a context on which another
 * provider already failed is a fallback from that one.
 */
import type { Provider, ProviderContext } from '../seam/provider.js';
import { NO_SPANS, type Spans } from '../tracing/spans.js';
import type { ProviderMetrics } from './ports.js';

const PROMISE_METHODS = ['detect', 'segment', 'readText', 'classify'] as const;

export function instrumentProviders(
  providers: ReadonlyMap<string, Provider>,
  metrics: ProviderMetrics | undefined,
  spans: Spans = NO_SPANS,
): Map<string, Provider> {
  if (!metrics && !spans.enabled) return new Map(providers);
  /** The provider that last failed for a request context (a WeakMap: contexts die with their request). */
  const failed = new WeakMap<ProviderContext, string>();
  const started = (p: Provider, ctx: ProviderContext) => {
    metrics?.providerCall(p.id, ctx.capability);
    const from = failed.get(ctx);
    if (from !== undefined && from !== p.id) metrics?.providerFallback(from, p.id, ctx.capability);
  };
  const fail = (p: Provider, ctx: ProviderContext) => {
    metrics?.providerError(p.id, ctx.capability);
    failed.set(ctx, p.id);
  };
  const wrap = (p: Provider): Provider => {
    const attrs = (ctx: ProviderContext) => ({ 'ocellus.provider': p.id, 'ocellus.capability': ctx.capability, 'ocellus.model': ctx.model.id });
    return new Proxy(p, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        if (prop === 'generate') {
          const generate = value as NonNullable<Provider['generate']>;
          return (ctx: ProviderContext) =>
            spans.iterate(`provider ${p.id}`, attrs(ctx), async function* () {
              started(p, ctx);
              try {
                yield* generate.call(target, ctx);
              } catch (err) {
                fail(p, ctx);
                throw err;
              }
            });
        }
        if ((PROMISE_METHODS as readonly (string | symbol)[]).includes(prop)) {
          const method = value as (ctx: ProviderContext, ...rest: unknown[]) => Promise<unknown>;
          return (ctx: ProviderContext, ...rest: unknown[]) =>
            spans.run(`provider ${p.id} ${String(prop)}`, attrs(ctx), async () => {
              started(p, ctx);
              try {
                return await method.call(target, ctx, ...rest);
              } catch (err) {
                fail(p, ctx);
                throw err;
              }
            });
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
  };
  return new Map([...providers].map(([id, p]) => [id, wrap(p)]));
}
