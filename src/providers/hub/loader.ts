/**
 * Keeps hub models loaded between requests, within a memory budget.
 *
 *  - Lazy: nothing loads until a request needs the model (or `warm()` asks).
 *  - Shared first use: concurrent requests for a model that is still loading wait on the
 *    same load instead of starting their own.
 *  - Bounded: each model's cost is estimated from its ONNX file sizes (what onnxruntime maps
 *    into memory, give or take its arenas); before a load, least recently used idle models
 *    are disposed until the new one fits in `maxBytes`. A model in use is never disposed
 *    under a request; if only busy models are left the budget is exceeded for a while (and
 *    logged) rather than failing the request, and the excess is reclaimed when they are
 *    released. A model larger than the whole budget still loads, alone.
 *  - A model that dies (its worker crashed) is dropped, so the next use loads it afresh.
 */
import type { Logger } from 'pino';

export interface LoadedModel {
  dispose(): Promise<void> | void;
}

export interface ModelRequest<M extends LoadedModel> {
  /** Identity of a loaded model: repo, revision, dtype, adapter. */
  key: string;
  /** Estimated resident bytes. */
  bytes: number;
  load(): Promise<M>;
}

export interface Lease<M extends LoadedModel> {
  model: M;
  /** Marks the use finished; the model stays loaded (warm) until evicted. */
  release(): void;
}

interface Entry {
  key: string;
  bytes: number;
  model?: LoadedModel;
  loading?: Promise<LoadedModel>;
  users: number;
  lastUsed: number;
}

export interface HubModelLoaderOptions {
  maxBytes: number;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** Clock for LRU order; injectable for tests. */
  now?: () => number;
}

export class HubModelLoader {
  private readonly entries = new Map<string, Entry>();
  private readonly maxBytes: number;
  private readonly logger: Pick<Logger, 'info' | 'warn'> | undefined;
  private readonly now: () => number;
  private tick = 0;
  private closed = false;

  constructor(opts: HubModelLoaderOptions) {
    this.maxBytes = opts.maxBytes;
    this.logger = opts.logger;
    // A counter breaks ties between uses in the same millisecond.
    this.now = opts.now ?? (() => Date.now() * 1000 + (this.tick++ % 1000));
  }

  /** Bytes of models loaded or loading. */
  get usedBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.bytes;
    return n;
  }

  /** Keys of models loaded or loading, least recently used first. */
  loadedKeys(): string[] {
    return [...this.entries.values()].sort((a, b) => a.lastUsed - b.lastUsed).map((e) => e.key);
  }

  async acquire<M extends LoadedModel>(req: ModelRequest<M>): Promise<Lease<M>> {
    if (this.closed) throw new Error('the hub model loader is closed');
    let entry = this.entries.get(req.key);
    if (!entry) {
      // The entry goes in before any await, so a concurrent first use finds it and shares the load.
      entry = { key: req.key, bytes: req.bytes, users: 0, lastUsed: this.now() };
      const e = entry;
      this.entries.set(req.key, e);
      e.loading = this.makeRoom(0, req.key)
        .then(() => req.load())
        .then(
        (model) => {
          e.model = model;
          e.loading = undefined;
          this.logger?.info({ model: req.key, bytes: req.bytes, usedBytes: this.usedBytes }, 'hub model loaded');
          return model;
        },
        (err: unknown) => {
          // A failed load must not block the next attempt.
          if (this.entries.get(req.key) === e) this.entries.delete(req.key);
          throw err;
        },
      );
    }
    entry.users++;
    entry.lastUsed = this.now();
    let model: LoadedModel;
    try {
      model = entry.model ?? (await entry.loading!);
    } catch (err) {
      entry.users--;
      throw err;
    }
    let released = false;
    const e = entry;
    return {
      model: model as M,
      release: () => {
        if (released) return;
        released = true;
        e.users--;
        e.lastUsed = this.now();
        if (this.usedBytes > this.maxBytes) void this.makeRoom(0);
      },
    };
  }

  /** Runs `fn` with the model loaded, releasing it afterwards whatever happens. */
  async use<M extends LoadedModel, T>(req: ModelRequest<M>, fn: (model: M) => Promise<T>): Promise<T> {
    const lease = await this.acquire(req);
    try {
      return await fn(lease.model);
    } finally {
      lease.release();
    }
  }

  /** Forgets a model that can no longer serve (its worker died); disposes it if still there. */
  async invalidate(key: string): Promise<void> {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    await Promise.resolve(e.model?.dispose()).catch(() => undefined);
  }

  /** Disposes idle models, least recently used first, until everything (plus `incoming`) fits. */
  private async makeRoom(incoming: number, forKey?: string): Promise<void> {
    const idle = [...this.entries.values()].filter((e) => e.users === 0 && e.model && !e.loading).sort((a, b) => a.lastUsed - b.lastUsed);
    const disposals: Array<Promise<void> | void> = [];
    for (const e of idle) {
      if (this.usedBytes + incoming <= this.maxBytes) break;
      this.entries.delete(e.key);
      this.logger?.info({ model: e.key, bytes: e.bytes, for: forKey }, 'hub model unloaded (least recently used, over the memory budget)');
      disposals.push(Promise.resolve(e.model!.dispose()).catch(() => undefined));
    }
    await Promise.all(disposals);
    if (this.usedBytes + incoming > this.maxBytes && forKey)
      this.logger?.warn(
        { model: forKey, usedBytes: this.usedBytes, maxBytes: this.maxBytes },
        'hub models in use exceed the memory budget (--hub-memory-mb); loading anyway',
      );
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map(async (e) => Promise.resolve((e.model ?? (await e.loading!.catch(() => undefined)))?.dispose()).catch(() => undefined)));
  }
}
