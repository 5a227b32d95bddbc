/**
 * How long the event loop was held, for /healthz: the longest and the 99th-percentile
 * delay over the last window (10 s by default). When /healthz answers slowly, a small
 * delay here points at the network or the client; a large one at this process, either
 * holding its loop or not getting the CPU (on a quiet machine, the former). Measured by
 * `monitorEventLoopDelay` (a libuv timer, 10 ms resolution); costs nothing per request.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopDelay {
  /** Over the last full window: delays in ms. */
  stats(): { p99Ms: number; maxMs: number; windowS: number };
  /** Forgets everything so far (the server calls it once start-up is done). */
  reset(): void;
  stop(): void;
}

export function watchLoopDelay(windowMs = 10_000): LoopDelay {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let last = { p99Ms: 0, maxMs: 0 };
  const roll = () => {
    last = { p99Ms: Math.round(h.percentile(99) / 1e6), maxMs: Math.round(h.max / 1e6) };
    h.reset();
  };
  const timer = setInterval(roll, windowMs).unref();
  return {
    stats: () => {
      // The current window so far counts too, so a block that just happened shows at once.
      const now = { p99Ms: Math.round(h.percentile(99) / 1e6), maxMs: Math.round(h.max / 1e6) };
      return { p99Ms: Math.max(last.p99Ms, now.p99Ms), maxMs: Math.max(last.maxMs, now.maxMs), windowS: windowMs / 1000 };
    },
    reset: () => {
      last = { p99Ms: 0, maxMs: 0 };
      h.reset();
    },
    stop: () => {
      clearInterval(timer);
      h.disable();
    },
  };
}
