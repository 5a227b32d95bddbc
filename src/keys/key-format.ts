/**
 * API keys made by `ocellus keys create`: 32 random bytes, base64url, behind a fixed prefix
 * so a leaked key is recognisable in logs and secret scanners.
 *
 * Stored as SHA-256, not scrypt: the key is 256 bits of randomness, so no dictionary or
 * brute-force search over it is feasible however fast the hash is; a slow password hash
 * (scrypt: tens of ms and MBs of memory by design) would only add that cost to every
 * request of a replica whose cache missed, and would rule out looking the key up by its
 * hash in an index. A stolen database still yields no usable key.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';

export const KEY_PREFIX = 'ocl_';

export function generateKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** What `keys list` shows of a key: enough to tell keys apart, useless to an attacker. */
export function displayPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX.length + 6);
}

export function newKeyId(): string {
  return `key_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}
