/**
 * Who is calling. The SDKs send `x-goog-api-key`, curl users `?key=`, OAuth users
 * `Authorization: Bearer`. With keys configured, each key is its own project (files are
 * scoped to it); with none configured the server is open and everything is one project.
 */
import { createHash } from 'node:crypto';
import { apiKeyInvalid, apiKeyMissing, unauthenticated } from '../errors.js';
import type { KeyLookup } from '../keys/lookup.js';

export interface Principal {
  /** Opaque project id; files and quotas are scoped by it. Never the raw key. */
  project: string;
  /** For keys made with `ocellus keys create`: its id and the limits it was given. */
  keyId?: string;
  rpm?: number;
  storageBytes?: number;
}

export interface Credentials {
  headerKey?: string | undefined;
  queryKey?: string | undefined;
  authorization?: string | undefined;
}

export const OPEN_PROJECT = 'open';

export type Authenticate = (credentials: Credentials) => Principal;

export function projectOfKey(key: string): string {
  return `key-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}

/**
 * Keys from the flags and keys made with `ocellus keys create` (looked up in the key
 * store, cached ≤ 1 s so a revocation reaches every replica within a second). The server
 * runs open only when neither exists; an unknown or revoked key is Gemini's 400
 * API_KEY_INVALID, as for flag keys.
 */
export function createKeyAuthenticator(apiKeys: readonly string[], stored: KeyLookup): (credentials: Credentials) => Promise<Principal> {
  const accepted = new Set(apiKeys);
  return async ({ headerKey, queryKey, authorization }) => {
    const key = headerKey || queryKey;
    const bearer = key ? undefined : /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
    const given = key || bearer;
    if (given && accepted.has(given)) return { project: projectOfKey(given) };
    if (given) {
      const found = await stored.find(given);
      if (found)
        return {
          project: projectOfKey(given),
          keyId: found.id,
          ...(found.rpm !== undefined ? { rpm: found.rpm } : {}),
          ...(found.storageBytes !== undefined ? { storageBytes: found.storageBytes } : {}),
        };
    }
    if (accepted.size === 0 && !(await stored.enforced())) return { project: OPEN_PROJECT };
    if (key) throw apiKeyInvalid();
    if (bearer) throw unauthenticated();
    throw apiKeyMissing();
  };
}

export function createAuthenticator(apiKeys: readonly string[]): Authenticate {
  const accepted = new Set(apiKeys);
  if (accepted.size === 0) return () => ({ project: OPEN_PROJECT });
  return ({ headerKey, queryKey, authorization }) => {
    const key = headerKey || queryKey;
    if (key) {
      if (!accepted.has(key)) throw apiKeyInvalid();
      return { project: projectOfKey(key) };
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
    if (bearer) {
      // No OAuth server here: a bearer token is accepted when it is one of the keys.
      if (!accepted.has(bearer)) throw unauthenticated();
      return { project: projectOfKey(bearer) };
    }
    throw apiKeyMissing();
  };
}
