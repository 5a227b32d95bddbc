/**
 * The settings every provider entry of the routing file accepts, whatever its type. Each
 * provider's own schema (`<provider>/config.ts`) spreads these into its object.
 */
import { z } from 'zod';
import { CAPABILITIES } from '../seam/provider.js';

export const commonProviderFields = {
  /** Restricts what the provider is asked for (it is never asked for more than it can do). */
  capabilities: z.array(z.enum(CAPABILITIES)).optional(),
  /** Most milliseconds for the first byte of an answer and between streamed pieces. */
  timeoutMs: z.number().int().positive().optional(),
};
