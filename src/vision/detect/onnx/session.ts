/**
 * onnxruntime-node sessions for the vision models, with one set of options: CPU provider,
 * every graph optimisation, a fixed number of intra-op threads, no spinning.
 *
 * Threads: each vision worker holds its own sessions, so workers × intra-op threads is what
 * the models may use at once; the pool picks the count (pool.ts, measured in docs/detectors.md).
 * Spinning stays off, so oversubscribed threads wait instead of burning the other worker's core.
 */
import type { InferenceSession } from 'onnxruntime-node';

export type Ort = typeof import('onnxruntime-node');

let ortModule: Promise<Ort> | undefined;

/** onnxruntime-node, imported once (its native addon is loaded on first use only). */
export function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node').then((mod) => ((mod as Ort & { default?: Ort }).default ?? mod) as Ort);
  return ortModule;
}

export interface SessionTuning {
  /** ORT intra-op threads for this session. Default 1. */
  intraOpThreads?: number;
  /** Let idle intra-op threads busy-wait. Default false: on shared cores spinning steals them. */
  allowSpinning?: boolean;
}

export function sessionOptions(t: SessionTuning = {}): InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: t.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    extra: { session: { intra_op: { allow_spinning: t.allowSpinning ? '1' : '0' } } },
  };
}
