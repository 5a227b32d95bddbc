/**
 * Where API keys made by `ocellus keys create` live. SQLite in the data dir by default;
 * PostgreSQL when the replicas share a database (`--database-url`), so a key revoked on one
 * replica is refused by all of them.
 */
export interface StoredKey {
  id: string;
  name: string;
  /** The first characters of the key, for `keys list`. */
  prefix: string;
  /** Requests per minute allowed to this key (undefined: the server's default). */
  rpm: number | undefined;
  /** File storage allowed to this key, bytes (undefined: the server's default). */
  storageBytes: number | undefined;
  createdAt: number;
  revokedAt: number | undefined;
}

export interface NewKeyInput {
  name: string;
  rpm?: number | undefined;
  storageBytes?: number | undefined;
}

export interface KeyStore {
  /** Stores the hash of `key` under a new id. A live key of the same name is refused. */
  insert(input: NewKeyInput & { id: string; hash: string; prefix: string; createdAt: number }): Promise<StoredKey>;
  list(): Promise<StoredKey[]>;
  /** Revokes by id or name; undefined when there is no such live key. */
  revoke(idOrName: string, now: number): Promise<StoredKey | undefined>;
  /** The live key with this hash, if any. */
  findLive(hash: string): Promise<StoredKey | undefined>;
  /** Whether any key was ever made (a server with stored keys enforces them). */
  any(): Promise<boolean>;
  close(): Promise<void>;
}

export class KeyNameTaken extends Error {
  constructor(name: string) {
    super(`a live key named ${JSON.stringify(name)} already exists; revoke it first or choose another name`);
  }
}

/** A key's row as both stores keep it (PostgreSQL hands BIGINT times back as strings). */
export interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  rpm: number | null;
  storage_bytes: number | null;
  created_at: number | string;
  revoked_at: number | string | null;
}

export const keyFromRow = (r: KeyRow): StoredKey => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  rpm: r.rpm ?? undefined,
  storageBytes: r.storage_bytes ?? undefined,
  createdAt: Number(r.created_at),
  revokedAt: r.revoked_at === null ? undefined : Number(r.revoked_at),
});
