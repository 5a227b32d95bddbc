/**
 * A vision worker thread (piscina): loads the selected models once, then analyses images
 * sent by the pool. Model code never runs on the server's event loop.
 */
import { workerData } from 'node:worker_threads';
import { analyseImage, helpFollowUp, lendDetectPart, type EmbeddingReuse } from './analyser.js';
import { loadVisionModels } from './load-models.js';
import type { ModelSelection } from './model-selection.js';
import type { WorkerResult, WorkerTask } from './pool.js';

const caps = loadVisionModels((workerData as { models: ModelSelection }).models);

export default async function run(task: WorkerTask): Promise<WorkerResult | void> {
  if (task.kind === 'warm') return caps.warm();
  if (task.kind === 'lend') return void (await lendDetectPart(caps, task.image!, task.needs?.detect ?? {}));
  if (task.kind === 'follow-up') return void (await helpFollowUp(caps, task.image!, task.followUpHelp!, task.followUpShare!));
  if (task.kind === 'masks') return void (await caps.segment?.helpMasks(task.maskHelp!, task.maskShare!));
  const reuse: EmbeddingReuse = task.samEmbedding ? { cached: task.samEmbedding } : {};
  const analysis = await analyseImage(caps, task.image!, task.needs ?? {}, reuse);
  // A computed embedding is in shared memory: returning it shares it with the pool's cache.
  return reuse.computed ? { ...analysis, samEmbedding: reuse.computed } : analysis;
}
