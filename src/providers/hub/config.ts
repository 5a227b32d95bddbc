/** The routing file's entry for a model pulled from the Hugging Face hub and run in process (`type: hub`). */
import { z } from 'zod';
import { commonProviderFields } from '../spec-common.js';

/** The adapters that can run a hub model (adapter-kind.ts says what each can do). */
export const ADAPTER_NAMES = ['florence2', 'chat-vlm', 'owlv2', 'clip'] as const;

export const hubProviderSpec = z.strictObject({
  type: z.literal('hub'),
  /** Hub repository id, as pulled: `onnx-community/Florence-2-base-ft`. */
  model: z.string().min(1),
  /** Which adapter runs it; guessed from the model id when absent. */
  adapter: z.enum(ADAPTER_NAMES).optional(),
  /** ONNX weight variant (`fp32`, `fp16`, `q8`, `q4`…), as pulled. */
  dtype: z.string().optional(),
  ...commonProviderFields,
});

export type HubProviderSpec = z.infer<typeof hubProviderSpec>;
