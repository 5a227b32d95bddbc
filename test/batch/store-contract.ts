/**
 * The contract every JobStore keeps (src/batch/store.ts): one suite, run against each real
 * implementation (SQLite here in test/batch/stores.test.ts, PostgreSQL in
 * test/scale/batch-store.test.ts). Concurrency cases fire their calls together with
 * Promise.all: on SQLite (one synchronous writer) they pass trivially; on PostgreSQL they
 * are the proof that a claim or a finalisation is one atomic step across connections.
 *
 * Usage: `describeJobStore('sqlite', async () => ({ store, cleanup }))` inside a test file.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClaimOptions, JobStore, NewItem } from '../../src/batch/store.js';

export interface JobStoreHandle {
  store: JobStore;
  /** Closes the store and removes what it created. */
  cleanup(): Promise<void> | void;
}

const T0 = 1_700_000_000_000;
const LEASE = 30_000;

const items = (n: number): NewItem[] => Array.from({ length: n }, (_, i) => ({ metadata: { key: `k${i}` }, request: JSON.stringify({ n: i }) }));
const at = (now: number, holder = 'h1', over: Partial<ClaimOptions> = {}): ClaimOptions => ({ now, holder, leaseUntil: now + LEASE, createdAfter: 0, ...over });

export function describeJobStore(name: string, factory: () => Promise<JobStoreHandle>): void {
  describe(`JobStore contract: ${name}`, () => {
    const open: JobStoreHandle[] = [];
    afterEach(async () => {
      for (const h of open.splice(0)) await h.cleanup();
    });
    const fresh = async () => {
      const h = await factory();
      open.push(h);
      return h.store;
    };
    const create = (store: JobStore, id: string, n: number, over: { project?: string; createTime?: number; file?: boolean; list?: NewItem[] } = {}) =>
      store.createBatch(
        {
          id,
          project: over.project ?? 'p',
          model: 'models/m',
          displayName: `batch ${id}`,
          input: over.file ? { kind: 'file', fileName: 'files/in' } : { kind: 'inline' },
          requestCount: n,
          createTime: over.createTime ?? T0,
        },
        over.list ?? items(n),
      );

    it('creates a batch with its items and reads it back, scoped to its project, listed newest first in pages', async () => {
      const store = await fresh();
      const a = await create(store, 'a', 3);
      expect(a).toMatchObject({ id: 'a', project: 'p', state: 'BATCH_STATE_PENDING', requestCount: 3, createTime: T0, updateTime: T0, input: { kind: 'inline' } });
      await create(store, 'b', 1, { file: true });
      await create(store, 'c', 1);
      await create(store, 'other', 1, { project: 'q' });
      expect(await store.getBatch('p', 'a')).toEqual(a);
      expect(await store.getBatch('q', 'a')).toBeUndefined();
      expect((await store.getBatch('p', 'b'))!.input).toEqual({ kind: 'file', fileName: 'files/in' });
      const first = await store.listBatches('p', 2);
      expect(first.batches.map((b) => b.id)).toEqual(['c', 'b']);
      const second = await store.listBatches('p', 2, first.nextAfter);
      expect(second.batches.map((b) => b.id)).toEqual(['a']);
      expect(second.nextAfter).toBeUndefined();
      expect(await store.counts('a')).toEqual({ total: 3, pending: 3, running: 0, succeeded: 0, failed: 0 });
    });

    it('a preset error is a failed item from the start, with its result', async () => {
      const store = await fresh();
      const error = { code: 400, message: 'line 2 is not JSON', status: 'INVALID_ARGUMENT' };
      await create(store, 'a', 2, { list: [items(1)[0]!, { metadata: { key: 'bad' }, request: null, error }] });
      expect(await store.counts('a')).toMatchObject({ pending: 1, failed: 1 });
      expect(await store.results('a')).toEqual([{ index: 1, metadata: { key: 'bad' }, outcome: { error } }]);
      const claimed = await store.claim(5, at(T0));
      expect(claimed.map((c) => c.index)).toEqual([0]);
    });

    it('claims pending items in batch and request order, each once, under the lease', async () => {
      const store = await fresh();
      await create(store, 'a', 2);
      await create(store, 'b', 2);
      const got = await store.claim(3, at(T0));
      expect(got.map((c) => [c.batchId, c.index, c.attempts])).toEqual([['a', 0, 1], ['a', 1, 1], ['b', 0, 1]]);
      expect(got[0]).toMatchObject({ project: 'p', model: 'models/m', request: JSON.stringify({ n: 0 }) });
      expect((await store.claim(3, at(T0 + 1))).map((c) => [c.batchId, c.index])).toEqual([['b', 1]]);
      expect(await store.claim(3, at(T0 + 2))).toEqual([]);
      expect(await store.counts('a')).toMatchObject({ pending: 0, running: 2 });
    });

    it('concurrent claims by many holders never hand out one item twice', async () => {
      const store = await fresh();
      await create(store, 'a', 40);
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claim(3, at(T0, `h${i}`))));
      const indexes = claims.flat().map((c) => c.index).sort((x, y) => x - y);
      expect(indexes).toEqual([...new Set(indexes)]);
      expect(indexes).toEqual([...Array(40).keys()]);
    });

    it('a running item is claimable again only once its lease has run out; renewing pushes that back', async () => {
      const store = await fresh();
      await create(store, 'a', 2);
      await store.claim(1, at(T0, 'alive'));
      await store.claim(1, at(T0, 'dead'));
      expect(await store.claim(5, at(T0 + LEASE - 1, 'other'))).toEqual([]);
      expect(await store.renew('alive', T0 + 3 * LEASE)).toBe(1);
      const retaken = await store.claim(5, at(T0 + LEASE + 1, 'other'));
      expect(retaken.map((c) => [c.index, c.attempts])).toEqual([[1, 2]]);
      // Both leases have run out by now ('other' did not renew either).
      expect(await store.claim(5, at(T0 + 3 * LEASE + 1, 'third'))).toMatchObject([{ index: 0, attempts: 2 }, { index: 1, attempts: 3 }]);
    });

    it('an outcome is written once by (batch, index): a late worker whose lease was taken over changes nothing', async () => {
      const store = await fresh();
      await create(store, 'a', 1);
      await store.claim(1, at(T0, 'slow'));
      await store.claim(1, at(T0 + LEASE + 1, 'fast'));
      const [fast, slow] = await Promise.all([store.complete('a', 0, { response: { by: 'fast' } }), store.complete('a', 0, { response: { by: 'slow' } })]);
      expect([fast, slow].filter(Boolean)).toHaveLength(1);
      expect(await store.complete('a', 0, { error: { code: 500, message: 'late', status: 'INTERNAL' } })).toBe(false);
      const results = await store.results('a');
      expect(results).toHaveLength(1);
      expect(results[0]!.outcome).toEqual(fast ? { response: { by: 'fast' } } : { response: { by: 'slow' } });
      expect(await store.counts('a')).toMatchObject({ succeeded: 1, running: 0, pending: 0 });
      expect(await store.claim(1, at(T0 + 10 * LEASE))).toEqual([]);
    });

    it('keeps an answer exactly as written (key order, unicode, numbers)', async () => {
      const store = await fresh();
      await create(store, 'a', 1);
      await store.claim(1, at(T0));
      const response = { zeta: 1, alpha: { y: [3, 2.5, -1e-7], x: 'ü 猫 "q"' }, candidates: [] };
      await store.complete('a', 0, { response });
      const [r] = await store.results('a');
      expect(JSON.stringify(r!.outcome)).toBe(JSON.stringify({ response }));
      expect(r!.metadata).toEqual({ key: 'k0' });
    });

    it('release puts the holder’s item back (after notBefore); another holder cannot release it', async () => {
      const store = await fresh();
      await create(store, 'a', 1);
      await store.claim(1, at(T0, 'mine'));
      await store.release('a', 0, T0 + 1000, 'someone-else');
      expect(await store.counts('a')).toMatchObject({ running: 1 });
      await store.release('a', 0, T0 + 1000, 'mine');
      expect(await store.counts('a')).toMatchObject({ running: 0, pending: 1 });
      expect(await store.claim(1, at(T0 + 999))).toEqual([]);
      // A released attempt is not counted (the worker did not die with it).
      expect(await store.claim(1, at(T0 + 1000))).toMatchObject([{ index: 0, attempts: 1 }]);
    });

    it('claims nothing of a final batch, nor of a batch created before `createdAfter` (expired)', async () => {
      const store = await fresh();
      await create(store, 'old', 1, { createTime: T0 - 10 });
      await create(store, 'gone', 1);
      await create(store, 'live', 1);
      await store.transition('gone', ['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING'], { state: 'BATCH_STATE_CANCELLED', updateTime: T0, endTime: T0 });
      const got = await store.claim(5, at(T0, 'h', { createdAfter: T0 - 5 }));
      expect(got.map((c) => c.batchId)).toEqual(['live']);
    });

    it('transitions only from the named states; updates patch fields', async () => {
      const store = await fresh();
      await create(store, 'a', 1);
      expect(await store.transition('a', ['BATCH_STATE_RUNNING'], { state: 'BATCH_STATE_SUCCEEDED' })).toBeUndefined();
      const running = await store.transition('a', ['BATCH_STATE_PENDING'], { state: 'BATCH_STATE_RUNNING', updateTime: T0 + 5 });
      expect(running).toMatchObject({ state: 'BATCH_STATE_RUNNING', updateTime: T0 + 5 });
      const done = await store.updateBatch('a', { state: 'BATCH_STATE_FAILED', errorMessage: 'why', endTime: T0 + 6, responsesFile: 'files/x' });
      expect(done).toMatchObject({ state: 'BATCH_STATE_FAILED', errorMessage: 'why', endTime: T0 + 6, responsesFile: 'files/x' });
      expect(await store.transition('missing', [], {})).toBeUndefined();
    });

    it('one finalisation at a time: concurrent takers get it once; it lapses by time; none once final', async () => {
      const store = await fresh();
      await create(store, 'a', 1);
      const takes = await Promise.all(['x', 'y', 'z'].map((h) => store.beginFinalise('a', h, T0, T0 + 1000)));
      expect(takes.filter(Boolean)).toHaveLength(1);
      expect(await store.beginFinalise('a', 'w', T0 + 999, T0 + 2000)).toBeUndefined();
      expect(await store.beginFinalise('a', 'w', T0 + 1001, T0 + 2000)).toMatchObject({ id: 'a' });
      await store.transition('a', ['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING'], { state: 'BATCH_STATE_SUCCEEDED' });
      expect(await store.beginFinalise('a', 'v', T0 + 5000, T0 + 6000)).toBeUndefined();
    });

    it('idle batches are the active ones with nothing pending or running; states are readable by id', async () => {
      const store = await fresh();
      await create(store, 'a', 1);
      await create(store, 'b', 1);
      await store.claim(1, at(T0));
      expect(await store.idleBatches()).toEqual([]);
      await store.complete('a', 0, { response: {} });
      expect((await store.idleBatches()).map((b) => b.id)).toEqual(['a']);
      expect((await store.activeBatches()).map((b) => b.id)).toEqual(['a', 'b']);
      await store.transition('b', [], { state: 'BATCH_STATE_CANCELLED' });
      const states = await store.statesOf(['a', 'b', 'nope']);
      expect(Object.fromEntries(states)).toEqual({ a: 'BATCH_STATE_PENDING', b: 'BATCH_STATE_CANCELLED' });
      expect((await store.activeBatches()).map((b) => b.id)).toEqual(['a']);
    });

    it('delete removes the batch and its items; a late answer to it is refused', async () => {
      const store = await fresh();
      await create(store, 'a', 2);
      await store.claim(1, at(T0));
      expect(await store.deleteBatch('q', 'a')).toBe(false);
      expect(await store.deleteBatch('p', 'a')).toBe(true);
      expect(await store.getBatch('p', 'a')).toBeUndefined();
      expect(await store.complete('a', 0, { response: {} })).toBe(false);
      expect(await store.counts('a')).toMatchObject({ total: 0 });
      expect(await store.claim(5, at(T0))).toEqual([]);
    });

    it('requeueRunning makes every running item pending (the embedded store after a crash)', async () => {
      const store = await fresh();
      await create(store, 'a', 3);
      await store.claim(2, at(T0));
      expect(await store.requeueRunning()).toBe(2);
      expect(await store.counts('a')).toMatchObject({ pending: 3, running: 0 });
    });

    it('results page by index; generated files are remembered per project', async () => {
      const store = await fresh();
      await create(store, 'a', 4);
      await store.claim(4, at(T0));
      for (const i of [3, 0, 2]) await store.complete('a', i, { response: { i } });
      expect((await store.results('a')).map((r) => r.index)).toEqual([0, 2, 3]);
      expect((await store.results('a', 1, 1)).map((r) => r.index)).toEqual([2]);
      await store.markGenerated('p', 'batch-a');
      await store.markGenerated('p', 'batch-a');
      expect(await store.isGenerated('p', 'batch-a')).toBe(true);
      expect(await store.isGenerated('q', 'batch-a')).toBe(false);
    });
  });
}
