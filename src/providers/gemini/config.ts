/** The routing file's entry for upstream Gemini (`type: gemini`): Google's API, or any Gemini-compatible base URL. */
import { z } from 'zod';
import { commonProviderFields } from '../spec-common.js';

export const geminiProviderSpec = z.strictObject({
  type: z.literal('gemini'),
  baseUrl: z.url().optional(),
  apiKey: z.string().min(1),
  /** Upstream model name; the requested name when absent. */
  model: z.string().optional(),
  apiVersion: z.enum(['v1beta', 'v1']).optional(),
  ...commonProviderFields,
});

export type GeminiProviderSpec = z.infer<typeof geminiProviderSpec>;
