/**
 * The body watchdog on its own, with a fake clock: what counts as progress, what counts
 * against the client, and how a timeout reaches the body's reader.
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors.js';
import { BodyWatchdog, PROGRESS_BYTES } from '../../src/server/body-timeouts.js';

function setup(opts: { deadline?: number } = {}) {
  let now = 0;
  const dog = new BodyWatchdog({ checkEveryMs: 60_000, now: () => now });
  const raw = new PassThrough() as unknown as IncomingMessage & PassThrough;
  const timeouts: ApiError[] = [];
  const watch = dog.watch(raw, { idleMs: 1000, deadline: opts.deadline, onTimeout: (e) => void timeouts.push(e) });
  return {
    dog,
    raw,
    watch,
    timeouts,
    advance(ms: number) {
      now += ms;
      dog.check();
    },
  };
}

describe('BodyWatchdog', () => {
  it('a trickle below the progress threshold times out; the reader gets the 408', async () => {
    const t = setup();
    const read = (async () => {
      for await (const _ of t.watch.stream) void _;
    })();
    for (let i = 0; i < 4; i++) {
      t.raw.write(Buffer.alloc(10));
      await tick();
      t.advance(300);
    }
    expect(t.timeouts).toHaveLength(1);
    const err = await read.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).httpStatus).toBe(408);
    expect((err as ApiError).message).toMatch(/stalled/);
  });

  it('steady progress keeps a body alive past many idle intervals when there is no deadline', async () => {
    const t = setup();
    const read = (async () => {
      let n = 0;
      for await (const c of t.watch.stream) n += (c as Buffer).length;
      return n;
    })();
    for (let i = 0; i < 20; i++) {
      t.raw.write(Buffer.alloc(PROGRESS_BYTES));
      await tick();
      t.advance(900);
    }
    t.raw.end();
    expect(await read).toBe(20 * PROGRESS_BYTES);
    expect(t.timeouts).toHaveLength(0);
  });

  it('time the server spends not reading (bytes waiting in its buffer) is not held against the client', async () => {
    const t = setup();
    t.raw.write(Buffer.alloc(100));
    await tick();
    t.advance(5000);
    expect(t.timeouts).toHaveLength(0);
  });

  it('a deadline ends even a moving body', async () => {
    const t = setup({ deadline: 2500 });
    t.watch.stream.resume();
    for (let i = 0; i < 3; i++) {
      t.raw.write(Buffer.alloc(PROGRESS_BYTES * 2));
      await tick();
      t.advance(900);
    }
    expect(t.timeouts).toHaveLength(1);
    expect(t.timeouts[0]!.message).toMatch(/whole request/);
  });

  it('a client that goes away mid-body fails the reader instead of leaving it waiting', async () => {
    const t = setup();
    const read = (async () => {
      for await (const _ of t.watch.stream) void _;
    })();
    t.raw.write(Buffer.alloc(10));
    t.raw.destroy();
    const err = await read.then(() => undefined, (e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNRESET');
  });
});
