/**
 * Prompt token accounting, shared by countTokens and generateContent so the two always
 * agree: text by the Gemma/Gemini tokenizer, images by the model family's policy.
 */
import { countImageTokens, imageTokenPolicyOf, type ModelFamily } from '../media/tokens.js';
import type { TextTokenCounter } from '../media/text-tokens.js';
import type { WireContent } from '../wire/request.js';
import type { ModalityTokenCount } from '../wire/response.js';
import type { ImagePartInfo } from './inputs.js';

export interface PromptUsage {
  total: number;
  details: ModalityTokenCount[];
}

export interface PromptUsageInput {
  /** The resolved model's family (ModelEntry.family): it picks the image policy. */
  family: ModelFamily;
  contents: WireContent[];
  systemInstruction?: WireContent | undefined;
  images: ImagePartInfo[];
  mediaResolution?: string | undefined;
}

export function countPromptTokens(input: PromptUsageInput, text: TextTokenCounter): PromptUsage {
  const texts = [...input.contents, ...(input.systemInstruction ? [input.systemInstruction] : [])].flatMap((c) =>
    c.parts.flatMap((p) => (p.text !== undefined ? [p.text] : [])),
  );
  const textTokens = texts.reduce((sum, t) => sum + text.count(t), 0);
  const policy = imageTokenPolicyOf(input);
  const imageTokens = input.images.reduce(
    (sum, img) =>
      sum +
      countImageTokens(policy, {
        width: img.info.width,
        height: img.info.height,
        ...(input.mediaResolution ? { mediaResolution: input.mediaResolution } : {}),
        ...(img.mediaResolution ? { partMediaResolution: img.mediaResolution } : {}),
      }),
    0,
  );
  const details: ModalityTokenCount[] = [];
  if (textTokens > 0 || imageTokens === 0) details.push({ modality: 'TEXT', tokenCount: textTokens });
  if (input.images.length > 0) details.push({ modality: 'IMAGE', tokenCount: imageTokens });
  return { total: textTokens + imageTokens, details };
}
