/**
 * SAM encoder outputs kept per image, so a second "segment X" on the same photo runs only
 * the decoder (~40 ms a box) instead of the encoder again (~0.4–0.7 s on 2 cores).
 *
 * The cache lives with the vision pool on the main thread, so any worker can use what
 * another computed. Embeddings sit in SharedArrayBuffers: handing one to a worker or back
 * shares the memory instead of copying 4 MiB. Bounded by bytes (lru-cache), least recently
 * used first out.
 */
import { webcrypto } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { RawImage } from '../analysis.js';
import type { SamEmbedding } from './sam.js';

/** 16 embeddings of 4 MiB: the photos a conversation is likely to come back to. */
export const DEFAULT_EMBEDDING_CACHE_BYTES = 64 * 1024 * 1024;

export class EmbeddingCache {
  private readonly lru: LRUCache<string, SamEmbedding>;
  hits = 0;
  misses = 0;

  constructor(maxBytes = DEFAULT_EMBEDDING_CACHE_BYTES) {
    this.lru = new LRUCache<string, SamEmbedding>({ maxSize: maxBytes, sizeCalculation: (e) => Math.max(1, e.data.byteLength) });
  }

  get(key: string): SamEmbedding | undefined {
    const e = this.lru.get(key);
    if (e) this.hits++;
    else this.misses++;
    return e;
  }

  set(key: string, e: SamEmbedding): void {
    // An embedding larger than the whole cache is not kept (lru-cache would throw).
    if (e.data.byteLength <= this.lru.maxSize) this.lru.set(key, e);
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }
}

/**
 * The image's identity: its size and the SHA-256 of its pixels. WebCrypto's digest runs on
 * libuv's thread pool, not the event loop (≈ 2–4 ms for a 1024-side image).
 */
export async function imageKey(img: RawImage): Promise<string> {
  const digest = await webcrypto.subtle.digest('SHA-256', img.rgb);
  return `${img.width}x${img.height}:${Buffer.from(digest).toString('hex')}`;
}

/** The embedding in shared memory (copied once when it is not already). */
export function shareEmbedding(e: SamEmbedding): SamEmbedding {
  if (e.data.buffer instanceof SharedArrayBuffer) return e;
  const data = new Float32Array(new SharedArrayBuffer(e.data.byteLength));
  data.set(e.data);
  return { data, dims: e.dims, geometry: e.geometry };
}
