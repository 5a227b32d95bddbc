/**
 * Lending one part of a detection to another model thread. onnxruntime-node runs a session
 * synchronously on the calling thread, so the fused detector's two models (SSD and
 * CenterNet) in one worker cost their sum. The request's own task (the owner) runs the
 * slower model; the faster one is offered to a second task (the helper) that the pool
 * queues beside it, and runs on whichever worker is free first.
 *
 * Whoever gets to the part first runs it, decided by one compare-and-swap in shared memory:
 * - the helper starts while the owner is still busy: it takes the part and posts its
 *   candidates; the owner, when it gets there, waits for them (the helper is already
 *   running, so the wait is bounded by the part's own time);
 * - the owner gets there first (every worker was busy): it keeps the part and runs it itself,
 *   exactly as without lending; the helper, when it starts, finds it kept and does nothing.
 * So no task ever waits for one that has not started, and a busy server does no more work
 * than without lending: the helper costs one hop.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Candidate } from './nms.js';

const FREE = 0;
const BORROWED = 1;
const KEPT = 2;

/** One side of a loan: the shared claim word and this side's end of the channel. */
export interface PartLoan {
  /** One Int32 in shared memory: FREE, BORROWED (the helper runs the part) or KEPT (the owner does). */
  claim: Int32Array;
  /** The owner's end receives the candidates; the helper's end sends them. Transferred with the task. */
  port: MessagePort;
}

/** What the helper posts: the part's candidates, or why it could not make them. */
type PartAnswer = { candidates: Candidate[] } | { error: string };

/** A new loan: the owner's side goes with the request's task, the helper's with the helper task. */
export function openLoan(): { owner: PartLoan; helper: PartLoan } {
  const claim = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const { port1, port2 } = new MessageChannel();
  return { owner: { claim, port: port1 }, helper: { claim, port: port2 } };
}

/** Whether the owner has already run the part itself (a helper that has not started need not). */
export function keptByOwner(loan: PartLoan): boolean {
  return Atomics.load(loan.claim, 0) === KEPT;
}

/**
 * The owner's side: the part's candidates, from the helper when it took the part, else run
 * here. `lent` says which. A helper that fails, or whose thread dies (its port closes), or
 * that is silent for `waitMs`, leaves the part to be run here.
 */
export async function takePart(loan: PartLoan, runHere: () => Promise<Candidate[]>, waitMs = 10_000): Promise<{ candidates: Candidate[]; lent: boolean }> {
  if (Atomics.compareExchange(loan.claim, 0, FREE, KEPT) === FREE) {
    loan.port.close();
    return { candidates: await runHere(), lent: false };
  }
  const answer = await receive(loan.port, waitMs);
  loan.port.close();
  if (answer && 'candidates' in answer) return { candidates: answer.candidates, lent: true };
  return { candidates: await runHere(), lent: false };
}

/**
 * The helper's side: runs the part and posts its candidates, unless the owner kept it.
 * Resolves true when it ran the part.
 */
export async function lendPart(loan: PartLoan, run: () => Promise<Candidate[]>): Promise<boolean> {
  if (Atomics.compareExchange(loan.claim, 0, FREE, BORROWED) !== FREE) {
    loan.port.close();
    return false;
  }
  let answer: PartAnswer;
  try {
    answer = { candidates: await run() };
  } catch (err) {
    answer = { error: err instanceof Error ? err.message : String(err) };
  }
  loan.port.postMessage(answer);
  loan.port.close();
  return true;
}

/** The first message on `port`, or undefined if it closes or stays silent for `waitMs`. */
function receive(port: MessagePort, waitMs: number): Promise<PartAnswer | undefined> {
  return new Promise((resolve) => {
    const done = (answer: PartAnswer | undefined) => {
      clearTimeout(timer);
      port.off('message', onMessage);
      port.off('close', onClose);
      resolve(answer);
    };
    const onMessage = (m: PartAnswer) => done(m);
    const onClose = () => done(undefined);
    const timer = setTimeout(() => done(undefined), waitMs);
    port.on('message', onMessage);
    port.on('close', onClose);
  });
}
