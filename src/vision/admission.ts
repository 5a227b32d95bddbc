/**
 * Admission control for a pool of model threads: a bounded queue that holds.
 *
 * Piscina's `maxQueue` does not bound tasks that carry an AbortSignal (they wait in a
 * queue of their own), which is every request's task: with `--vision-queue 32`, 200
 * concurrent captions all queued (331 tasks, p99 35 s). So the queue lives here, and
 * piscina only ever gets as many tasks as it has threads.
 *
 * - **Requests, not tasks, are admitted.** One caption is two tasks (the safety rating and
 *   the detector), a multi-image request more. Counting tasks would admit half of a
 *   request and refuse the other half after work was spent on it. Tasks that carry the
 *   same AbortSignal belong to one request (every request has its own controller), so the
 *   signal is the request's ticket: a signal seen for the first time takes a slot, later
 *   tasks with it ride on that slot. Tasks without a signal are a request each.
 * - At most `concurrency + maxQueue` requests are admitted at once; the next gets 429
 *   RESOURCE_EXHAUSTED with `Retry-After` and a RetryInfo detail, as Gemini sends, with the
 *   delay estimated from the recent task times and the queue ahead.
 * - A request leaves when its signal aborts (the route aborts it when the response is
 *   done, or the client left), or when it has had no task queued or running for `lingerMs`
 *   (callers that never abort their signal).
 * - `enter` admits a request up front, before its images are decoded (the route does this
 *   for models the offline engine serves), so a refused request costs only its parsing.
 * - The queue is ordered by request, not by task: a request admitted earlier runs all its
 *   tasks before a later one starts. Task order let 34 captions all finish their safety
 *   rating before any ran its detector, so every one of them finished last (measured: 2 of
 *   34 done within 30 s under load, against one after another).
 * - The queue-time budget: a request none of whose tasks started within `queueTimeoutMs`
 *   of its admission fails with 503 UNAVAILABLE ("overloaded, try again") rather than
 *   running late for a client that has likely given up. Once a request has started, its
 *   later tasks are not timed out: that would throw away the work already done.
 * - A task whose signal aborts while it waits leaves the queue at once.
 */
import { resourceExhausted, unavailable, type ApiError } from '../errors.js';

export interface AdmissionOptions {
  /** Tasks that run at once (the pool's threads). */
  concurrency: number;
  /** Requests that may wait beyond the running ones. */
  maxQueue: number;
  /** Longest a task may wait before it fails with 503. Default 30 s. */
  queueTimeoutMs?: number;
  /** How long a request with nothing queued or running keeps its slot. Default 250 ms. */
  lingerMs?: number;
}

export interface AdmissionStats {
  /** Requests holding a slot now. */
  admitted: number;
  /** Tasks running / waiting now. */
  running: number;
  waiting: number;
  /** Since start: requests refused with 429, tasks timed out in the queue. */
  refused: number;
  timedOut: number;
  /** Recent task time, ms (exponential average). */
  taskMs: number;
}

interface Job {
  /** Admission order: the queue serves requests in this order. */
  seq: number;
  /** When it was admitted (performance.now()). */
  admittedAt: number;
  /** Whether any of its tasks has started. */
  started: boolean;
  /** Tasks of this request queued or running. */
  tasks: number;
  /** Admitted up front by `enter`: kept until the signal aborts, whatever the tasks do. */
  held: boolean;
  linger: NodeJS.Timeout | undefined;
  release: () => void;
}

interface Waiting {
  seq: number;
  start: () => void;
  fail: (err: unknown) => void;
}

export class Admission {
  private readonly concurrency: number;
  private readonly capacity: number;
  private readonly queueTimeoutMs: number;
  private readonly lingerMs: number;
  private readonly jobs = new Map<AbortSignal | symbol, Job>();
  private readonly queue: Waiting[] = [];
  private running = 0;
  private seq = 0;
  private refused = 0;
  private timedOut = 0;
  private taskMs = 1000;

  constructor(opts: AdmissionOptions) {
    this.concurrency = Math.max(1, opts.concurrency);
    this.capacity = this.concurrency + Math.max(0, opts.maxQueue);
    this.queueTimeoutMs = opts.queueTimeoutMs ?? 30_000;
    this.lingerMs = opts.lingerMs ?? 250;
  }

  /**
   * Runs `task` when a slot is free, under the request identified by `signal`. Throws 429
   * when the request cannot be admitted, 503 when it waited too long, the signal's reason
   * when it aborted while waiting.
   */
  async run<T>(signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
    signal?.throwIfAborted();
    const job = this.admit(signal);
    job.tasks++;
    try {
      await this.slot(signal, job);
      job.started = true;
      const started = performance.now();
      try {
        return await task();
      } finally {
        this.taskMs = 0.8 * this.taskMs + 0.2 * (performance.now() - started);
        this.running--;
        this.next();
      }
    } finally {
      job.tasks--;
      if (job.tasks === 0 && !job.held) {
        if (!signal) job.release();
        else job.linger = setTimeout(job.release, this.lingerMs).unref();
      }
    }
  }

  /**
   * Admits the request of `signal` before it has any task (429 when full), and keeps it
   * admitted until the signal aborts. The route calls this before decoding the request's
   * images, so a request that would be refused costs no decode; its tasks then ride on it.
   */
  enter(signal: AbortSignal): void {
    signal.throwIfAborted();
    this.admit(signal).held = true;
  }

  /** Whether a new request would be refused now. */
  get full(): boolean {
    return this.jobs.size >= this.capacity;
  }

  stats(): AdmissionStats {
    return {
      admitted: this.jobs.size,
      running: this.running,
      waiting: this.queue.length,
      refused: this.refused,
      timedOut: this.timedOut,
      taskMs: Math.round(this.taskMs),
    };
  }

  /** Seconds until a slot is likely free: the tasks ahead, spread over the threads. */
  retryAfterSeconds(): number {
    const ahead = this.queue.length + this.running;
    return Math.min(60, Math.max(1, Math.ceil((ahead * this.taskMs) / this.concurrency / 1000)));
  }

  private admit(signal: AbortSignal | undefined): Job {
    const existing = signal && this.jobs.get(signal);
    if (existing) {
      clearTimeout(existing.linger);
      existing.linger = undefined;
      return existing;
    }
    if (this.jobs.size >= this.capacity) {
      this.refused++;
      throw this.busy();
    }
    const key: AbortSignal | symbol = signal ?? Symbol('task');
    const onAbort = () => job.release();
    const job: Job = {
      seq: this.seq++,
      admittedAt: performance.now(),
      started: false,
      tasks: 0,
      held: false,
      linger: undefined,
      release: () => {
        clearTimeout(job.linger);
        signal?.removeEventListener('abort', onAbort);
        this.jobs.delete(key);
      },
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.jobs.set(key, job);
    return job;
  }

  private busy(): ApiError {
    return resourceExhausted(
      `The vision engine is busy: ${this.jobs.size} requests are running or waiting, the most it takes. Retry shortly.`,
      this.retryAfterSeconds(),
    );
  }

  /** Resolves when this task may run (and counts it running). */
  private slot(signal: AbortSignal | undefined, job: Job): Promise<void> {
    if (this.running < this.concurrency && this.queue.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry: Waiting = {
        seq: job.seq,
        start: () => {
          cleanup();
          this.running++;
          resolve();
        },
        fail: (err) => {
          cleanup();
          reject(err);
        },
      };
      const leave = (err: unknown) => {
        const i = this.queue.indexOf(entry);
        if (i >= 0) this.queue.splice(i, 1);
        entry.fail(err);
      };
      const onAbort = () => leave(signal?.reason);
      const timer = job.started
        ? undefined
        : setTimeout(
            () => {
              if (job.started) return;
              this.timedOut++;
              leave(
                unavailable(
                  `The vision engine is overloaded: this request waited ${Math.round(this.queueTimeoutMs / 1000)} s without a free model thread. Please try again later.`,
                  this.retryAfterSeconds(),
                ),
              );
            },
            Math.max(0, this.queueTimeoutMs - (performance.now() - job.admittedAt)),
          ).unref();
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // After every entry of the same or an earlier request: FIFO by request, then by task.
      let at = this.queue.length;
      while (at > 0 && this.queue[at - 1]!.seq > entry.seq) at--;
      this.queue.splice(at, 0, entry);
    });
  }

  private next(): void {
    while (this.running < this.concurrency && this.queue.length > 0) this.queue.shift()!.start();
  }
}
