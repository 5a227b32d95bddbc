/**
 * The offline engine as a provider like the others: the router plans the prompt once and
 * hands the plan in the provider context; the offline answerer (the vision models, or
 * measurements only when none are installed) uses that plan instead of planning again.
 * It answers whole requests in Gemini's format, and lists only the capabilities whose
 * models are installed, so a route to it for segmentation with SAM turned off is refused
 * with a message that says how to enable it.
 */
import type { DecodedImage } from '../../media/decode.js';
import type { SafetyRating } from '../../vision/analysis.js';
import { OFFLINE_PROVIDER } from '../routing-file.js';
import type { Capability, Provider, ProviderContext } from '../../seam/provider.js';

/** Which offline models are installed; a task needing a missing one says so. */
export interface InstalledModels {
  detect: boolean;
  segment: boolean;
  ocr: boolean;
  safety?: boolean;
  people?: boolean;
}

/** What answers for the offline provider: given the router's plan, writes the whole answer. */
export interface OfflineAnswerer {
  /** Reported by /healthz (`offline-vision`, `measurements`). */
  readonly name: string;
  generate(ctx: ProviderContext): AsyncIterable<string>;
  rateSafety?(images: DecodedImage[], signal: AbortSignal): Promise<SafetyRating[]>;
}

/** `installed` undefined: no models at all (the measurements-only answerer). */
export function offlineCapabilities(installed: InstalledModels | undefined): Capability[] {
  if (!installed) return ['answer'];
  return [
    'answer',
    ...(installed.detect ? (['detect', 'classify'] as const) : []),
    ...(installed.detect && installed.segment ? (['segment'] as const) : []),
    ...(installed.ocr ? (['readText'] as const) : []),
  ];
}

export function createOfflineProvider(answerer: OfflineAnswerer, installed: InstalledModels | undefined): Provider {
  const capabilities = offlineCapabilities(installed);
  return {
    id: OFFLINE_PROVIDER,
    kind: 'offline',
    capabilities,
    answersWhole: true,
    describe: () =>
      installed
        ? `the offline engine (${capabilities.join(', ')}; COCO objects, text, people)`
        : 'the offline engine in measurements mode (no models: sizes, colours, differences)',
    generate: (ctx) => answerer.generate(ctx),
  };
}
