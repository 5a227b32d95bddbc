/**
 * What the engine and the stores report, as small interfaces they are handed. The router
 * (engine/) and the files layer depend on these shapes only, never on prom-client, so they
 * run unchanged with no metrics at all (tests, `ocellus ask`) and this folder imports
 * nothing from theirs.
 */

/** Provider calls as the router makes them: one per provider tried. */
export interface ProviderMetrics {
  /** A provider was asked for `capability` (before its answer is known). */
  providerCall(provider: string, capability: string): void;
  /** It failed before its first piece (the router may fall back) or mid-stream. */
  providerError(provider: string, capability: string): void;
  /** The router handed the request from `from` to the next provider, `to`. */
  providerFallback(from: string, to: string, capability: string): void;
}

/** Latency of one operation against a store (blob store, metadata database). */
export interface StoreMetrics {
  storeOperation(store: string, op: string, seconds: number, ok: boolean): void;
}
