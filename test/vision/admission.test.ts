/**
 * Admission control in front of the model threads: requests (not tasks) admitted up to
 * threads + queue, the rest refused with 429 + Retry-After + RetryInfo; a queue-time budget
 * (503); aborted waiters leave the queue. Fake tasks, no models.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors.js';
import { errorBody } from '../../src/server/error-envelope.js';
import { Admission } from '../../src/vision/admission.js';

/** A task that runs until released, recording how many ran at once. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, task: async () => (await opened, 'done') };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

describe('Admission', () => {
  it('admits at most concurrency + maxQueue requests and refuses the rest with 429, Retry-After and RetryInfo', async () => {
    const adm = new Admission({ concurrency: 2, maxQueue: 3 });
    const g = gate();
    const controllers = Array.from({ length: 20 }, () => new AbortController());
    const results = controllers.map((c) => adm.run(c.signal, g.task));
    for (const r of results) r.catch(() => undefined);
    await settle();
    expect(adm.stats()).toMatchObject({ admitted: 5, running: 2, waiting: 3, refused: 15 });
    g.open();
    const settled = await Promise.allSettled(results);
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as ApiError);
    expect(refused).toHaveLength(15);
    for (const e of refused) {
      expect(e).toBeInstanceOf(ApiError);
      expect(errorBody(e).error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
      expect(Number(e.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
      expect(e.details).toEqual([{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${e.headers['Retry-After']}s` }]);
    }
  });

  it('counts tasks that share a signal as one request, so an admitted request is never refused halfway', async () => {
    const adm = new Admission({ concurrency: 1, maxQueue: 1 });
    const g = gate();
    const a = new AbortController();
    const b = new AbortController();
    const mine = [adm.run(a.signal, g.task), adm.run(b.signal, g.task), adm.run(a.signal, g.task), adm.run(b.signal, g.task), adm.run(a.signal, g.task)];
    const other = adm.run(new AbortController().signal, g.task);
    await expect(other).rejects.toMatchObject({ httpStatus: 429 });
    g.open();
    expect(await Promise.all(mine)).toEqual(['done', 'done', 'done', 'done', 'done']);
  });

  it('frees a request’s slot when its signal aborts, and after the linger when it does not', async () => {
    const adm = new Admission({ concurrency: 1, maxQueue: 0, lingerMs: 30 });
    const a = new AbortController();
    await adm.run(a.signal, async () => 1);
    expect(adm.stats().admitted).toBe(1); // lingering: a second task of the same request may follow
    await expect(adm.run(new AbortController().signal, async () => 2)).rejects.toMatchObject({ httpStatus: 429 });
    a.abort();
    expect(adm.stats().admitted).toBe(0);
    const b = new AbortController();
    await adm.run(b.signal, async () => 3);
    await new Promise((r) => setTimeout(r, 60));
    expect(adm.stats().admitted).toBe(0);
  });

  it('fails a task that waited past the queue-time budget with 503 UNAVAILABLE instead of running it late', async () => {
    const adm = new Admission({ concurrency: 1, maxQueue: 5, queueTimeoutMs: 40 });
    const g = gate();
    const first = adm.run(new AbortController().signal, g.task);
    let ran = false;
    const late = adm.run(new AbortController().signal, async () => (ran = true));
    const err = (await late.catch((e: unknown) => e)) as ApiError;
    expect(err.httpStatus).toBe(503);
    expect(err.status).toBe('UNAVAILABLE');
    expect(err.headers['Retry-After']).toBeDefined();
    expect(adm.stats().timedOut).toBe(1);
    g.open();
    await first;
    expect(ran).toBe(false);
  });

  it('a waiting task whose client left leaves the queue at once', async () => {
    const adm = new Admission({ concurrency: 1, maxQueue: 5 });
    const g = gate();
    const first = adm.run(undefined, g.task);
    const c = new AbortController();
    let ran = false;
    const waiting = adm.run(c.signal, async () => (ran = true));
    await settle();
    expect(adm.stats().waiting).toBe(1);
    c.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(adm.stats()).toMatchObject({ waiting: 0, admitted: 1 });
    g.open();
    await first;
    expect(ran).toBe(false);
    expect(adm.stats().admitted).toBe(0);
  });
});

describe('Admission.enter (up-front admission, before any task)', () => {
  it('holds the place until the signal aborts, and its tasks ride on it', async () => {
    const adm = new Admission({ concurrency: 1, maxQueue: 0, lingerMs: 1 });
    const a = new AbortController();
    adm.enter(a.signal);
    expect(() => adm.enter(new AbortController().signal)).toThrow(expect.objectContaining({ httpStatus: 429 }));
    expect(await adm.run(a.signal, async () => 'first')).toBe('first');
    await new Promise((r) => setTimeout(r, 20)); // past the linger: still held
    expect(adm.stats().admitted).toBe(1);
    expect(await adm.run(a.signal, async () => 'second')).toBe('second');
    a.abort();
    expect(adm.stats().admitted).toBe(0);
    adm.enter(new AbortController().signal);
    expect(adm.stats().admitted).toBe(1);
  });
});

describe('Admission order and the queue-time budget', () => {
  it('serves requests in admission order: an earlier request runs all its tasks before a later one starts', async () => {
    const adm = new Admission({ concurrency: 1, maxQueue: 5 });
    const g = gate();
    const order: string[] = [];
    const task = (name: string) => async () => void order.push(name);
    const blocker = adm.run(undefined, g.task);
    const a = new AbortController();
    const b = new AbortController();
    // Like captions: each request's safety task first, its detector task a little later.
    const runs = [adm.run(a.signal, task('a-safety')), adm.run(b.signal, task('b-safety'))];
    runs.push(adm.run(a.signal, task('a-detect')), adm.run(b.signal, task('b-detect')));
    g.open();
    await Promise.all([blocker, ...runs]);
    expect(order).toEqual(['a-safety', 'a-detect', 'b-safety', 'b-detect']);
  });

  it('does not time out a later task of a request that has started', async () => {
    const adm = new Admission({ concurrency: 1, maxQueue: 5, queueTimeoutMs: 30 });
    const a = new AbortController();
    const g = gate();
    const first = adm.run(a.signal, g.task); // starts at once: the request has started
    const second = adm.run(a.signal, async () => 'second'); // waits behind it, past the budget
    await new Promise((r) => setTimeout(r, 60));
    g.open();
    await first;
    expect(await second).toBe('second');
  });
});
