/**
 * The embedded queue's rules on a real SQLite JobStore, with the generation step replaced
 * by a function the test controls (the engine is not under test here; the e2e tests run the
 * real one): bounded concurrency, the interactive-first gate, busy answers retried rather
 * than recorded, a request's own error recorded, cancel and stop letting running work end,
 * a crash's running requests run again with every answer kept once, and file batches'
 * responses file written once in request order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { invalidArgument, resourceExhausted } from '../../src/errors.js';
import type { BatchFiles, RunRequest } from '../../src/batch/ports.js';
import { createQueue, type QueueOptions } from '../../src/batch/queue.js';
import { openSqliteJobStore, type SqliteJobStore } from '../../src/batch/sqlite-store.js';
import type { NewItem } from '../../src/batch/store.js';

let dir: string;
let store: SqliteJobStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ocellus-queue-'));
  store = openSqliteJobStore(dir);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const items = (n: number): NewItem[] => Array.from({ length: n }, (_, i) => ({ metadata: { key: `k${i}` }, request: JSON.stringify({ n: i }) }));
const newBatch = (n: number, id = 'b1', input: { kind: 'inline' } | { kind: 'file'; fileName: string } = { kind: 'inline' }) =>
  store.createBatch({ id, project: 'p', model: 'models/m', displayName: undefined, input, requestCount: n, createTime: Date.now() }, items(n));

const noFiles: BatchFiles = {
  readInput: () => Promise.reject(new Error('unused')),
  createGenerated: () => Promise.reject(new Error('unused')),
  open: () => Promise.reject(new Error('unused')),
};


const createEmbeddedQueue = (o: Omit<QueueOptions, 'exclusive'>) => createQueue({ exclusive: true, ...o });

async function settle(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const final = async (id = 'b1') => (await store.getBatch('p', id))!.state;

describe('embedded queue', () => {
  it('runs every request once, never more than `concurrency` at a time, answers in request order', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    const run: RunRequest = async ({ request }) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      seen.push((request as { n: number }).n);
      return { echo: (request as { n: number }).n };
    };
    await newBatch(10);
    const q = createEmbeddedQueue({ store, run, files: noFiles, concurrency: 2, pollMs: 10 });
    q.start();
    await settle(async () => (await final()) === 'BATCH_STATE_SUCCEEDED');
    await q.stop();
    expect(most).toBe(2);
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect((await store.results('b1')).map((r) => [r.metadata?.key, r.outcome])).toEqual([...Array(10).keys()].map((i) => [`k${i}`, { response: { echo: i } }]));
    expect((await store.getBatch('p', 'b1'))!.endTime).toBeDefined();
  });

  it('takes no work while the gate says interactive requests are waiting', async () => {
    let open = false;
    let ran = 0;
    await newBatch(3);
    const q = createEmbeddedQueue({ store, run: async () => ({ ok: ++ran }), files: noFiles, concurrency: 1, pollMs: 10, gate: () => open });
    q.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(ran).toBe(0);
    expect(await final()).toBe('BATCH_STATE_PENDING');
    open = true;
    await settle(async () => (await final()) === 'BATCH_STATE_SUCCEEDED');
    await q.stop();
    expect(ran).toBe(3);
  });

  it('a busy engine (429) is retried; a bad request is that request’s error', async () => {
    let calls = 0;
    const run: RunRequest = async ({ request }) => {
      const n = (request as { n: number }).n;
      if (n === 0 && calls++ < 2) throw resourceExhausted('busy', 1);
      if (n === 1) throw invalidArgument('contents[0].parts[0]: not an image', 'contents[0].parts[0]');
      return { n };
    };
    await newBatch(3);
    const q = createEmbeddedQueue({ store, run, files: noFiles, concurrency: 1, pollMs: 5, retryMs: 10 });
    q.start();
    await settle(async () => (await final()) === 'BATCH_STATE_SUCCEEDED');
    await q.stop();
    const results = await store.results('b1');
    expect(results[0]!.outcome).toEqual({ response: { n: 0 } });
    expect(results[1]!.outcome).toEqual({ error: { code: 400, message: 'contents[0].parts[0]: not an image', status: 'INVALID_ARGUMENT' } });
    expect(await store.counts('b1')).toMatchObject({ succeeded: 2, failed: 1, pending: 0, running: 0 });
  });

  it('cancel lets the running request end without aborting it, drops its answer and starts no other', async () => {
    let started = 0;
    let abortedWhileRunning = false;
    let finish: () => void = () => {};
    const run: RunRequest = ({ signal }) =>
      new Promise((resolve) => {
        started++;
        signal.addEventListener('abort', () => (abortedWhileRunning = true));
        finish = () => resolve({ late: true });
      });
    await newBatch(5);
    const q = createEmbeddedQueue({ store, run, files: noFiles, concurrency: 1, pollMs: 5 });
    q.start();
    await settle(() => started === 1);
    await store.transition('b1', ['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING'], { state: 'BATCH_STATE_CANCELLED' });
    q.cancel('b1');
    await new Promise((r) => setTimeout(r, 30));
    expect(abortedWhileRunning).toBe(false);
    finish();
    await settle(() => q.inFlight === 0);
    await new Promise((r) => setTimeout(r, 50));
    await q.stop();
    expect(started).toBe(1);
    expect(await final()).toBe('BATCH_STATE_CANCELLED');
    const c = await store.counts('b1');
    expect(c.succeeded + c.failed).toBe(0);
  });

  it('stop waits for the running request, then aborts it after the grace period; it runs again at the next start', async () => {
    let calls = 0;
    const run: RunRequest = ({ signal }) =>
      new Promise((resolve, reject) => {
        calls++;
        if (calls > 1) return resolve({ second: true });
        signal.addEventListener('abort', () => reject(new Error('aborted')));
      });
    await newBatch(1);
    const q = createEmbeddedQueue({ store, run, files: noFiles, concurrency: 1, pollMs: 5, stopGraceMs: 50 });
    q.start();
    await settle(() => calls === 1);
    await q.stop();
    expect(await store.counts('b1')).toMatchObject({ pending: 1, running: 0 });
    const again = createEmbeddedQueue({ store, run, files: noFiles, concurrency: 1, pollMs: 5 });
    again.start();
    await settle(async () => (await final()) === 'BATCH_STATE_SUCCEEDED');
    await again.stop();
    expect((await store.results('b1'))[0]!.outcome).toEqual({ response: { second: true } });
  });

  it('after a crash the running requests run again and every answer is kept once', async () => {
    await newBatch(4);
    // A process claimed two requests and answered one before it died.
    const claimed = await store.claim(2, { now: Date.now(), holder: 'dead', leaseUntil: Date.now() + 60_000, createdAfter: 0 });
    expect(await store.complete('b1', claimed[0]!.index, { response: { first: true } })).toBe(true);
    expect(await store.complete('b1', claimed[0]!.index, { response: { again: true } })).toBe(false);
    const ran: number[] = [];
    const q = createEmbeddedQueue({ store, run: async ({ request }) => (ran.push((request as { n: number }).n), { n: (request as { n: number }).n }), files: noFiles, concurrency: 1, pollMs: 5 });
    q.start();
    await settle(async () => (await final()) === 'BATCH_STATE_SUCCEEDED');
    await q.stop();
    expect(ran.sort()).toEqual([1, 2, 3]);
    const results = await store.results('b1');
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    expect(results[0]!.outcome).toEqual({ response: { first: true } });
  });

  it('a file batch ends with its responses file, written once, one line per request in order', async () => {
    const written: Array<{ id: string; text: string }> = [];
    const files: BatchFiles = {
      ...noFiles,
      createGenerated: async (_p, id, _d, _m, bytes) => {
        written.push({ id, text: bytes.toString() });
        return `files/${id}`;
      },
    };
    await newBatch(3, 'fb', { kind: 'file', fileName: 'files/in' });
    const q = createEmbeddedQueue({ store, run: async ({ request }) => ({ n: (request as { n: number }).n }), files, concurrency: 2, pollMs: 5 });
    q.start();
    await settle(async () => (await final('fb')) === 'BATCH_STATE_SUCCEEDED');
    await q.stop();
    expect(written).toHaveLength(1);
    expect(written[0]!.id).toBe('batch-fb');
    expect(written[0]!.text.trim().split('\n').map((l) => JSON.parse(l))).toEqual([0, 1, 2].map((n) => ({ key: `k${n}`, response: { n } })));
    expect((await store.getBatch('p', 'fb'))!.responsesFile).toBe('files/batch-fb');
    expect(await store.isGenerated('p', 'batch-fb')).toBe(true);
  });

  it('a batch past its expiry ends EXPIRED: what was answered is kept (in the responses file too), pending requests never start', async () => {
    const started: number[] = [];
    const written: string[] = [];
    const files: BatchFiles = { ...noFiles, createGenerated: async (_p, id, _d, _m, bytes) => (written.push(bytes.toString()), `files/${id}`) };
    const run: RunRequest = ({ request, signal }) => {
      const n = (request as { n: number }).n;
      started.push(n);
      if (n < 2) return Promise.resolve({ n });
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    };
    await newBatch(5, 'ex', { kind: 'file', fileName: 'files/in' });
    const q = createEmbeddedQueue({ store, run, files, concurrency: 1, pollMs: 5, sweepMs: 20, watchMs: 20, expiryMs: 300, stopGraceMs: 50 });
    q.start();
    await settle(async () => (await final('ex')) === 'BATCH_STATE_EXPIRED', 5000);
    await new Promise((r) => setTimeout(r, 100));
    await q.stop();
    expect(started).toEqual([0, 1, 2]);
    expect((await store.results('ex')).map((r) => r.index)).toEqual([0, 1]);
    expect(written).toHaveLength(1);
    expect(written[0]!.trim().split('\n').map((l) => JSON.parse(l).key)).toEqual(['k0', 'k1']);
    expect(await store.getBatch('p', 'ex')).toMatchObject({ responsesFile: 'files/batch-ex', endTime: expect.any(Number) });
  });

  it('a cancel made elsewhere (another replica, straight in the store) is seen by the state check: the running answer is dropped', async () => {
    let finish: () => void = () => {};
    let started = 0;
    const run: RunRequest = () => new Promise((resolve) => ((started++), (finish = () => resolve({ late: true }))));
    await newBatch(3);
    const q = createQueue({ store, run, files: noFiles, concurrency: 1, pollMs: 5, watchMs: 10, exclusive: false });
    q.start();
    await settle(() => started === 1);
    await store.transition('b1', ['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING'], { state: 'BATCH_STATE_CANCELLED' });
    await new Promise((r) => setTimeout(r, 60));
    finish();
    await settle(() => q.inFlight === 0);
    await new Promise((r) => setTimeout(r, 50));
    await q.stop();
    expect(started).toBe(1);
    expect((await store.counts('b1')).succeeded).toBe(0);
  });

  it('on a shared store a queue never requeues another holder’s running request at start; it takes it once the lease has run out', async () => {
    await newBatch(2);
    const leaseEnd = Date.now() + 400;
    const [held] = await store.claim(1, { now: Date.now(), holder: 'other-replica', leaseUntil: leaseEnd, createdAfter: 0 });
    const ran: Array<{ n: number; at: number }> = [];
    const q = createQueue({
      store,
      run: async ({ request }) => (ran.push({ n: (request as { n: number }).n, at: Date.now() }), { n: (request as { n: number }).n }),
      files: noFiles,
      concurrency: 1,
      pollMs: 10,
      exclusive: false,
    });
    q.start();
    await settle(async () => (await final()) === 'BATCH_STATE_SUCCEEDED');
    await q.stop();
    expect(ran.map((r) => r.n)).toEqual([1, held!.index]);
    expect(ran[1]!.at).toBeGreaterThanOrEqual(leaseEnd);
    expect((await store.results('b1')).map((r) => r.outcome)).toEqual([{ response: { n: 0 } }, { response: { n: 1 } }]);
  });

  it('a request whose worker died every time it ran is recorded as failed after maxAttempts, not run again', async () => {
    await newBatch(2);
    // Three workers claimed request 0 and died (their leases ran out); request 1 is fresh.
    for (let t = 1; t <= 3; t++) await store.claim(1, { now: t * 10, holder: `dead-${t}`, leaseUntil: t * 10 + 5, createdAfter: 0 });
    const ran: number[] = [];
    const q = createQueue({ store, run: async ({ request }) => (ran.push((request as { n: number }).n), { ok: true }), files: noFiles, concurrency: 1, pollMs: 5, exclusive: false, maxAttempts: 3 });
    q.start();
    await settle(async () => (await final()) === 'BATCH_STATE_SUCCEEDED');
    await q.stop();
    expect(ran).toEqual([1]);
    const [first] = await store.results('b1');
    expect(first!.outcome).toEqual({ error: { code: 500, message: expect.stringMatching(/started 3 times/), status: 'INTERNAL' } });
  });
});
