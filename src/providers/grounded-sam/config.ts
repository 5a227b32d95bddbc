/** The routing file's entry for Grounded-SAM (`type: grounded-sam`): another provider's boxes, the local SAM's masks. */
import { z } from 'zod';
import { commonProviderFields } from '../spec-common.js';

export const groundedSamProviderSpec = z.strictObject({
  type: z.literal('grounded-sam'),
  /** The provider whose `detect` finds the boxes that the local SAM turns into masks. */
  grounding: z.string().min(1),
  ...commonProviderFields,
});

export type GroundedSamProviderSpec = z.infer<typeof groundedSamProviderSpec>;
