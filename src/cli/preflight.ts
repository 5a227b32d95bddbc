/**
 * Checks done before a server starts its model threads, so that what a user can fix (a
 * detector whose weights are not installed) is one line naming the fix, not a worker's
 * stack trace after the models began loading.
 */
import type { Config } from '../config.js';
import { isDetectorId, missingDetectorWeights } from '../vision/detect/index.js';

/** A mistake or missing piece the user can fix: the CLI prints its message alone and exits 1. */
export class UserError extends Error {}

/** Throws UserError when the configured detector's weights are nowhere to be found. */
export function checkModelsInstalled(config: Config): void {
  const { engine, detector } = config.vision;
  if (engine !== 'vision' || !detector || !isDetectorId(detector)) return;
  const missing = missingDetectorWeights(detector);
  if (missing) throw new UserError(missing.message);
}
