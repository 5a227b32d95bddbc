/**
 * A vision worker thread (piscina): loads the selected models once, then analyses images
 * sent by the pool. Model code never runs on the server's event loop.
 */
import { workerData } from 'node:worker_threads';
import { analyseImage } from './analyser.js';
import { loadCapabilities } from './capabilities.js';
import type { ModelSelection } from './models.js';
import type { WorkerTask } from './pool.js';

const caps = loadCapabilities((workerData as { models: ModelSelection }).models);

export default async function run(task: WorkerTask) {
  if (task.kind === 'warm') return caps.warm();
  return analyseImage(caps, task.image!, task.needs ?? {});
}
