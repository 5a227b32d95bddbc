/**
 * A request's independent items of work (the fused detector's SSD half, SAM's boxes) worked
 * through by two model threads at once. onnxruntime-node runs a session synchronously on
 * the calling thread, so models overlap only on separate threads: the request's own task
 * (the owner) offers the items, and the pool queues a helper task that runs on whichever
 * worker is free.
 *
 * Items are claimed one at a time by one atomic increment of a counter in shared memory,
 * so each runs exactly once and neither side ever waits for work that has not started:
 * - the helper starts while the owner is busy: it claims items and posts each result;
 * - the owner claims what is left, runs it, then waits only for the items the helper has
 *   claimed (each already running, so the wait is bounded by one item's time);
 * - every worker was busy: the owner claims them all and runs them itself, exactly as
 *   without sharing, and the helper, when it starts, finds nothing left.
 * A helper that fails an item, or whose thread dies (its port closes), or that is silent for
 * `waitMs`, leaves its unanswered items to be run by the owner.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';

/** One side of a share: the claim counter (shared memory) and this side's end of the channel. */
export interface WorkShare {
  /** One Int32 in shared memory: the index of the next unclaimed item. */
  next: Int32Array;
  /** The owner's end receives the helper's results; the helper's end sends them. Transferred with the task. */
  port: MessagePort;
}

/** What the helper posts per item it claimed: the result, or why there is none. */
type ItemAnswer<T> = { index: number; result: T } | { index: number; error: string };

/** A new share: the owner's side goes with the request's task, the helper's with the helper task. */
export function openShare(): { owner: WorkShare; helper: WorkShare } {
  const next = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const { port1, port2 } = new MessageChannel();
  return { owner: { next, port: port1 }, helper: { next, port: port2 } };
}

/** Whether every one of `count` items is claimed (a helper that has not started need not). */
export function allClaimed(share: WorkShare, count: number): boolean {
  return Atomics.load(share.next, 0) >= count;
}

const claim = (share: WorkShare) => Atomics.add(share.next, 0, 1);

/**
 * The owner's side: the `count` results in order, the unclaimed ones run here by `runHere`,
 * the rest from the helper. `fromHelper` counts the latter.
 */
export async function workTogether<T>(
  share: WorkShare,
  count: number,
  runHere: (index: number) => Promise<T>,
  waitMs = 10_000,
): Promise<{ results: T[]; fromHelper: number }> {
  const results = new Map<number, T>();
  let answered = 0;
  let fromHelper = 0;
  let closed = false;
  let wake: (() => void) | undefined;
  const onMessage = (m: ItemAnswer<T>) => {
    answered++;
    if ('result' in m) {
      results.set(m.index, m.result);
      fromHelper++;
    }
    wake?.();
  };
  const onClose = () => {
    closed = true;
    wake?.();
  };
  share.port.on('message', onMessage);
  share.port.on('close', onClose);
  try {
    let mine = 0;
    for (let i = claim(share); i < count; i = claim(share), mine++) results.set(i, await runHere(i));
    // The helper's items: each was running when claimed, so this wait is short.
    const deadline = performance.now() + waitMs;
    while (mine + answered < count && !closed && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - performance.now());
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    // Failed, lost with a dead thread, or late: run here.
    for (let i = 0; i < count; i++) if (!results.has(i)) results.set(i, await runHere(i));
  } finally {
    share.port.off('message', onMessage);
    share.port.off('close', onClose);
    share.port.close();
  }
  return { results: Array.from({ length: count }, (_, i) => results.get(i)!), fromHelper };
}

/** The helper's side: claims and runs items until none is left, posting each result. Resolves with how many it ran. */
export async function helpWith<T>(share: WorkShare, count: number, run: (index: number) => Promise<T>): Promise<number> {
  let ran = 0;
  try {
    for (let i = claim(share); i < count; i = claim(share), ran++) {
      let answer: ItemAnswer<T>;
      try {
        answer = { index: i, result: await run(i) };
      } catch (err) {
        answer = { index: i, error: err instanceof Error ? err.message : String(err) };
      }
      share.port.postMessage(answer);
    }
  } finally {
    share.port.close();
  }
  return ran;
}

/**
 * A share whose items the owner knows only part-way through its task (a segmentation's boxes
 * once the encoder has run, a detection's follow-up once its boxes are known): the owner posts
 * what a helper needs on `ready` (to the pool, which then queues the helper), and the two work
 * through the items with `work`.
 */
export interface HelpOffer {
  work: WorkShare;
  ready: MessagePort;
}

/** Both sides of an offer: `owner` goes with the request's task; the pool keeps `helper` and listens on `asked`. */
export interface OpenOffer {
  owner: HelpOffer;
  helper: WorkShare;
  asked: MessagePort;
}

export function openOffer(): OpenOffer {
  const work = openShare();
  const { port1, port2 } = new MessageChannel();
  return { owner: { work: work.owner, ready: port1 }, helper: work.helper, asked: port2 };
}

/**
 * The pool's side of an offer: when the owner asks, `help` starts the helper with what it posted.
 * The returned `settle`, called once the owner's task is done, stops listening, closes the
 * helper's side if the owner never asked, and resolves when the helper (if any) has finished.
 */
export function answerOffer<H>(offer: OpenOffer, help: (asked: H) => Promise<void>): () => Promise<void> {
  let helping: Promise<void> | undefined;
  offer.asked.once('message', (asked: H) => {
    helping = help(asked);
  });
  return () => {
    offer.asked.close();
    if (!helping) offer.helper.port.close();
    return helping ?? Promise.resolve();
  };
}
