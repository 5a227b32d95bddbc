/**
 * Deadlines for receiving request bodies. Node's own `requestTimeout` counts the whole
 * request and is one number for every route, which would cut a 2 GB upload on a slow
 * line; Fastify turns it off entirely, so a trickled body kept a connection (and an upload's
 * temp file) open for ever. Here each body is judged on its own:
 *
 * - idle: a body must deliver at least PROGRESS_BYTES (or end) within every `idleMs`. Time
 *   the server itself is not reading (back-pressure: bytes wait in our buffer) does not
 *   count against the client.
 * - deadline: ordinary requests must arrive whole by a fixed time; uploads have none and
 *   are judged by progress alone.
 *
 * The body is handed to its consumer (Fastify's JSON parser, the upload handlers) through a
 * pass-through stream; a timeout errors that stream with a 408 ApiError, so the request
 * fails through the normal error path (Gemini's envelope, `Connection: close`) instead of
 * the socket being cut without an answer.
 */
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { requestTimedOut, type ApiError } from '../errors.js';

/** The least a body must deliver per idle interval to count as moving. */
export const PROGRESS_BYTES = 1024;

export interface WatchOptions {
  idleMs: number;
  /** Epoch ms by which the whole body must have arrived; undefined: progress only. */
  deadline?: number | undefined;
  /** Called with the error before the body stream fails (e.g. to add `Connection: close`). */
  onTimeout: (err: ApiError, responded: boolean) => void;
}

export interface BodyWatch {
  /** The body as the consumer should read it. */
  readonly stream: Readable;
  /** The response went out: unread bytes are discarded, the deadlines still apply. */
  responded(): void;
}

export { requestTimedOut };

/** Whether the request announces a body (Content-Length above 0 or a Transfer-Encoding). */
export function hasBody(raw: IncomingMessage): boolean {
  const te = raw.headers['transfer-encoding'];
  if (te !== undefined && te !== '') return true;
  const cl = raw.headers['content-length'];
  return cl !== undefined && cl !== '0' && cl !== '';
}

interface Watch {
  raw: IncomingMessage;
  out: Transform;
  opts: WatchOptions;
  lastProgress: number;
  sinceMark: number;
  responded: boolean;
  done: boolean;
}

/** The watched body stream of each request, for handlers that read the body themselves. */
const watched = new WeakMap<IncomingMessage, Readable>();

/** The body to read for `raw`: the watched stream when there is one, else the request itself. */
export function bodyStreamOf(raw: IncomingMessage): Readable {
  return watched.get(raw) ?? raw;
}

export class BodyWatchdog {
  private readonly watches = new Set<Watch>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly checkEveryMs: number;

  constructor(opts: { checkEveryMs: number; now?: () => number }) {
    this.checkEveryMs = opts.checkEveryMs;
    this.now = opts.now ?? Date.now;
  }

  watch(raw: IncomingMessage, opts: WatchOptions): BodyWatch {
    const w: Watch = {
      raw,
      opts,
      lastProgress: this.now(),
      sinceMark: 0,
      responded: false,
      done: false,
      out: new Transform({
        transform: (chunk: Buffer, _enc, cb) => {
          w.sinceMark += chunk.length;
          if (w.sinceMark >= PROGRESS_BYTES) {
            w.sinceMark = 0;
            w.lastProgress = this.now();
          }
          cb(null, chunk);
        },
      }),
    };
    const finish = (): void => {
      w.done = true;
      this.watches.delete(w);
      if (this.watches.size === 0) this.stopTimer();
    };
    raw.pipe(w.out);
    // The consumer may be gone (body refused early) when the client aborts: an 'error' with
    // no listener would kill the process (found by test/fuzz). Consumers still get it.
    w.out.on('error', () => undefined);
    raw.once('end', finish);
    // The client went away mid-body: the consumer must see it, not wait for ever.
    raw.once('close', () => {
      if (!raw.complete && !raw.readableEnded && !w.out.destroyed)
        w.out.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      finish();
    });
    w.out.once('close', finish);
    this.watches.add(w);
    watched.set(raw, w.out);
    this.startTimer();
    return {
      stream: w.out,
      responded: () => {
        w.responded = true;
        if (!w.out.destroyed) w.out.resume();
      },
    };
  }

  /** One pass over the bodies in flight; public so tests can drive it with a fake clock. */
  check(): void {
    const now = this.now();
    for (const w of this.watches) {
      if (w.done) continue;
      // Bytes waiting in our buffers mean the server is the slow side.
      if (w.out.readableLength > 0 || w.out.writableLength > 0) {
        w.lastProgress = now;
        w.sinceMark = 0;
      }
      if (w.opts.deadline !== undefined && now >= w.opts.deadline)
        this.expire(w, 'The request was not received in time: its body was still arriving when the time allowed for a whole request ran out.');
      else if (now - w.lastProgress >= w.opts.idleMs)
        this.expire(
          w,
          `The request body stalled: less than ${PROGRESS_BYTES} bytes arrived in ${Math.round(w.opts.idleMs / 1000)} s. Send the body without pauses (or resume an upload from X-Goog-Upload-Size-Received).`,
        );
    }
  }

  private expire(w: Watch, message: string): void {
    w.done = true;
    this.watches.delete(w);
    const err = requestTimedOut(message);
    w.raw.unpipe(w.out);
    w.opts.onTimeout(err, w.responded);
    if (w.responded) w.raw.socket?.destroy();
    else w.out.destroy(err);
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.checkEveryMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stopTimer();
    this.watches.clear();
  }
}
