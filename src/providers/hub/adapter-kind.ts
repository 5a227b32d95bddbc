/**
 * Which adapter runs a hub model, and what each adapter can do. Pure: shared by `pull`
 * (recorded in the manifest), `ocellus models` and the provider, without loading any runtime.
 */
import type { Capability } from '../../seam/provider.js';
import { ADAPTER_NAMES } from './config.js';

export { ADAPTER_NAMES };
export type AdapterName = (typeof ADAPTER_NAMES)[number];

export const ADAPTER_CAPABILITIES: Record<AdapterName, readonly Capability[]> = {
  // Captions, objects (all or by phrase), masks from phrases, text with regions.
  florence2: ['answer', 'detect', 'segment', 'readText'],
  // Free-form answers only: small chat VLMs do not ground reliably, so detect stays elsewhere.
  'chat-vlm': ['answer'],
  owlv2: ['detect'],
  clip: ['classify'],
};

/** config.json `model_type` → adapter, for models whose name says nothing. */
const MODEL_TYPES: Record<string, AdapterName> = {
  florence2: 'florence2',
  owlv2: 'owlv2',
  owlvit: 'owlv2',
  clip: 'clip',
  siglip: 'clip',
  siglip2: 'clip',
  chinese_clip: 'clip',
  jina_clip: 'clip',
  idefics3: 'chat-vlm',
  smolvlm: 'chat-vlm',
  qwen2_vl: 'chat-vlm',
  qwen2_5_vl: 'chat-vlm',
  qwen3_vl: 'chat-vlm',
  gemma3: 'chat-vlm',
  llava: 'chat-vlm',
  llava_onevision: 'chat-vlm',
  lfm2_vl: 'chat-vlm',
  paligemma: 'chat-vlm',
};

const NAME_PATTERNS: Array<[RegExp, AdapterName]> = [
  [/florence-?2/i, 'florence2'],
  [/owl-?v2|owl-?vit/i, 'owlv2'],
  [/(^|[/_-])(clip|siglip2?|chinese-clip)([/_-]|$)/i, 'clip'],
  [/smolvlm|idefics|qwen[23](\.5)?-?vl|moondream|llava|paligemma|gemma-?3|lfm2-?vl|vlm/i, 'chat-vlm'],
];

/** The adapter for a model, from config.json's model_type when known, else from its id. */
export function guessAdapter(repo: string, modelType?: string): AdapterName | undefined {
  if (modelType && MODEL_TYPES[modelType]) return MODEL_TYPES[modelType];
  return NAME_PATTERNS.find(([re]) => re.test(repo))?.[1];
}

export function isAdapterName(s: string): s is AdapterName {
  return (ADAPTER_NAMES as readonly string[]).includes(s);
}
