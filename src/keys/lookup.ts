/**
 * Key checks on the request path, cached for at most `ttlMs` (default 500 ms): a replica
 * asks its store at most twice a second per key, and a revoked key is refused everywhere
 * within that time. Unknown keys are cached too, so a client retrying a bad key does not
 * hammer the database.
 */
import { hashKey } from './key-format.js';
import type { KeyStore, StoredKey } from './store.js';

export interface KeyLookup {
  /** The live stored key `key` is, or undefined. */
  find(key: string): Promise<StoredKey | undefined>;
  /** Whether stored keys are in use at all (any was ever made), cached like lookups. */
  enforced(): Promise<boolean>;
}

export function createKeyLookup(store: KeyStore, opts: { ttlMs?: number; now?: () => number; maxEntries?: number } = {}): KeyLookup {
  const ttlMs = opts.ttlMs ?? 500;
  const now = opts.now ?? Date.now;
  const maxEntries = opts.maxEntries ?? 10_000;
  const cache = new Map<string, { at: number; key: StoredKey | undefined }>();
  let anyCache: { at: number; value: boolean } | undefined;
  return {
    async find(key) {
      const hash = hashKey(key);
      const hit = cache.get(hash);
      if (hit && now() - hit.at < ttlMs) return hit.key;
      const found = await store.findLive(hash);
      if (cache.size >= maxEntries) cache.clear(); // bounded: a flood of random keys cannot grow it
      cache.set(hash, { at: now(), key: found });
      return found;
    },
    async enforced() {
      if (anyCache && now() - anyCache.at < ttlMs) return anyCache.value;
      const value = await store.any();
      anyCache = { at: now(), value };
      return value;
    },
  };
}
