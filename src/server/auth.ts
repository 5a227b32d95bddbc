/**
 * Who is calling. The SDKs send `x-goog-api-key`, curl users `?key=`, OAuth users
 * `Authorization: Bearer`. With keys configured, each key is its own project (files are
 * scoped to it); with none configured the server is open and everything is one project.
 */
import { createHash } from 'node:crypto';
import { apiKeyInvalid, apiKeyMissing, unauthenticated } from '../errors.js';

export interface Principal {
  /** Opaque project id; files and quotas are scoped by it. Never the raw key. */
  project: string;
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
