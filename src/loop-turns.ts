/**
 * Turns on the event loop for a request's steps of synchronous work (parsing its JSON, the
 * steps after its image is decoded, the colour k-means) that many requests can reach at once.
 *
 * libuv hands over the completions of several jobs (sharp's decodes, bodies that finished
 * arriving) in one callback run, and their continuations then ran back to back in one
 * microtask flush: under a burst of 200 captions, 30-odd admitted requests' steps held the
 * loop for 166–300 ms at a time (bench suite "burst"), and health checks and new connections
 * waited behind them. A step that first awaits `nextTurn()` runs in a loop iteration of its
 * own, one waiting step per iteration, with timers and I/O served in between. A request
 * alone waits one iteration (microseconds).
 *
 * Module state, deliberately: the turns are the event loop's, and there is one loop.
 */
const waiting: Array<() => void> = [];
let pumping = false;

function pump(): void {
  const next = waiting.shift();
  if (!next) {
    pumping = false;
    return;
  }
  // Its continuation runs in the microtask checkpoint right after this callback.
  next();
  // Scheduled from the check phase, so it runs in the next iteration, after timers and poll.
  setImmediate(pump);
}

/** Resolves in a loop iteration of its own, after the steps that asked before it. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!pumping) {
      pumping = true;
      setImmediate(pump);
    }
  });
}
