/**
 * The offline engine as a provider: it answers whole requests in Gemini's format, and
 * lists only the capabilities whose models are loaded, so a route to it for segmentation
 * with SAM turned off is refused with a message that says how to enable it.
 */
import type { Engine } from '../seam/request.js';
import { OFFLINE_PROVIDER } from './routing-file.js';
import type { Capability, Provider } from '../seam/provider.js';

export interface OfflineModels {
  /** False for the measurements-only engine (no models at all). */
  models: boolean;
  detect: boolean;
  segment: boolean;
  ocr: boolean;
}

export function offlineCapabilities(m: OfflineModels): Capability[] {
  if (!m.models) return ['answer'];
  return [
    'answer',
    ...(m.detect ? (['detect', 'classify'] as const) : []),
    ...(m.detect && m.segment ? (['segment'] as const) : []),
    ...(m.ocr ? (['readText'] as const) : []),
  ];
}

export function createOfflineProvider(engine: Engine, models: OfflineModels): Provider {
  const capabilities = offlineCapabilities(models);
  return {
    id: OFFLINE_PROVIDER,
    kind: 'offline',
    capabilities,
    answersWhole: true,
    describe: () =>
      models.models
        ? `the offline engine (${capabilities.join(', ')}; COCO objects, text, people)`
        : 'the offline engine in measurements mode (no models: sizes, colours, differences)',
    generate: (ctx) => engine.generate(ctx),
  };
}
