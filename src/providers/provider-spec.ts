/**
 * Every provider type the routing file can name, as one schema: each provider's folder owns
 * its entry (`<provider>/config.ts`); this list is the only place that knows them all, next
 * to registry.ts, which builds them. engine/routing-file.ts puts it in the file's schema.
 */
import { z } from 'zod';
import { geminiProviderSpec } from './gemini/config.js';
import { groundedSamProviderSpec } from './grounded-sam/config.js';
import { hubProviderSpec } from './hub/config.js';
import { openAiProviderSpec } from './openai/config.js';

export const providerSpec = z.discriminatedUnion('type', [openAiProviderSpec, geminiProviderSpec, hubProviderSpec, groundedSamProviderSpec]);

export type ProviderSpec = z.infer<typeof providerSpec>;
