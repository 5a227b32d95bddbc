/** Making and revoking keys: what `ocellus keys` does, independent of the command line. */
import { displayPrefix, generateKey, hashKey, newKeyId } from './key-format.js';
import type { KeyStore, NewKeyInput, StoredKey } from './store.js';

export async function createKey(store: KeyStore, input: NewKeyInput, now: number = Date.now()): Promise<{ key: string; record: StoredKey }> {
  const name = input.name.trim();
  if (!/^[\w.@-]{1,128}$/.test(name)) throw new Error('--name must be 1-128 letters, digits, dots, dashes, underscores or @');
  for (const [flag, v] of [['--rpm', input.rpm], ['--storage-bytes', input.storageBytes]] as const)
    if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0)) throw new Error(`${flag} must be a positive whole number`);
  const key = generateKey();
  const record = await store.insert({ ...input, name, id: newKeyId(), hash: hashKey(key), prefix: displayPrefix(key), createdAt: now });
  return { key, record };
}
