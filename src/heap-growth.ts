/**
 * How far V8 lets a heap grow past what survived its last full collection before it marks
 * again: V8's --heap-growing-percent (the next limit is live × (1 + percent / 100)); 0 leaves
 * V8's own factor.
 *
 * Why: a model worker's heap is small (15–25 MB live) while each request allocates several MB
 * there that die within it (onnxruntime's output copies, crops, tensors). With V8's own factor
 * each worker ran a full mark-compact about every other request, and the concurrent marking
 * of those collections took ~25 ms of CPU per caption on V8's helper threads, beside the two
 * model threads on a 2-core machine (~170 ms per caption in all). At 200 % that falls to
 * ~8 ms, for ~40–100 MB more resident memory (docs/detectors.md, "Garbage collection").
 *
 * V8 flags belong to the process, so this is set once by the command that starts the server
 * (and by the bench for its in-process baselines), before the vision workers start; V8 reads
 * the factor at every collection, so it holds for every isolate, the workers' included.
 */
import { setFlagsFromString } from 'node:v8';

export const DEFAULT_HEAP_GROWTH = 200;

export function setHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heap growth must be a whole percentage ≥ 0, got ${percent}`);
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
