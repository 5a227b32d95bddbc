/**
 * Model inference times: the vision worker measures each stage of an analysis and returns
 * the times with the result (Analysis.times); they are recorded here, per model and stage,
 * as metrics and as spans ending when the result arrived.
 */
import type { StageTimes } from '../vision/analysis.js';
import { NO_SPANS, type Spans } from '../tracing/spans.js';

export interface InferenceMetrics {
  inference(model: string, stage: string, seconds: number): void;
}

/** Which model runs each stage, for the `model` label. */
export function stageModels(detector: string | null): Record<keyof StageTimes, string> {
  return {
    detect: detector ?? 'none',
    samEncode: 'sam-tinyvit',
    samDecode: 'sam-tinyvit',
    ocr: 'ocr',
    safety: 'nsfwjs',
    people: 'human',
  };
}

export function observeStages(
  times: StageTimes | undefined,
  models: Record<keyof StageTimes, string>,
  metrics: InferenceMetrics | undefined,
  spans: Spans = NO_SPANS,
): void {
  for (const [stage, ms] of Object.entries(times ?? {}) as Array<[keyof StageTimes, number | undefined]>) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) continue;
    const model = models[stage] ?? stage;
    metrics?.inference(model, stage, ms / 1000);
    spans.recordDone(`model ${stage}`, { 'ocellus.model': model, 'ocellus.stage': stage }, ms);
  }
}

/** The part of the vision pool read here: its results carry the stage times. */
export interface AnalysingPool {
  analyse(image: never, needs: never, signal?: AbortSignal): Promise<{ times: StageTimes }>;
}

/**
 * Records the stage times of every analysis the pool returns. The pool object's `analyse`
 * is wrapped in place, so every caller (the offline engine, grounded SAM) is covered
 * without vision/ knowing about metrics.
 */
export function observePool(pool: AnalysingPool, models: Record<keyof StageTimes, string>, metrics: InferenceMetrics | undefined, spans: Spans = NO_SPANS): void {
  const analyse = pool.analyse.bind(pool);
  pool.analyse = (image, needs, signal) =>
    spans.run('vision analyse', {}, async () => {
      const result = await analyse(image, needs, signal);
      observeStages(result.times, models, metrics, spans);
      return result;
    });
}
