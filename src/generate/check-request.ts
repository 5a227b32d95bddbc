/**
 * What Ocellus can and cannot honour in a GenerateContentRequest. Settings that only tune
 * sampling (temperature, topP, seed…) are accepted: a deterministic engine is a valid
 * sampler. Settings that would change what the answer is (logprobs, audio or image output,
 * forced tool calls, search grounding, cached contents) are refused with a 400 that says
 * so, never silently dropped.
 */
import { invalidArgument } from '../errors.js';
import type { GenerateContentRequest } from '../wire/request.js';
import { ASSESSED_CATEGORIES, NOT_ASSESSED_CATEGORIES } from '../vision/safety/ratings.js';

export const RESPONSE_MIME_TYPES = ['text/plain', 'application/json', 'text/x.enum'] as const;

/** Every category Gemini knows: the rated ones and those no model here assesses. */
const HARM_CATEGORIES = new Set<string>(['HARM_CATEGORY_UNSPECIFIED', ...ASSESSED_CATEGORIES, ...NOT_ASSESSED_CATEGORIES]);
const THRESHOLDS = new Set([
  'HARM_BLOCK_THRESHOLD_UNSPECIFIED',
  'BLOCK_LOW_AND_ABOVE',
  'BLOCK_MEDIUM_AND_ABOVE',
  'BLOCK_ONLY_HIGH',
  'BLOCK_NONE',
  'OFF',
]);
const SUPPORTED_TOOL_KEYS = new Set(['functionDeclarations']);

export function checkRequest(req: GenerateContentRequest): void {
  req.contents.forEach((c, i) => {
    if (c.role !== undefined && c.role !== 'user' && c.role !== 'model')
      throw invalidArgument(`Please use a valid role: user, model. (contents[${i}].role is "${c.role}")`, `contents[${i}].role`);
  });
  req.systemInstruction?.parts.forEach((p, j) => {
    if (p.text === undefined)
      throw invalidArgument(`system_instruction.parts[${j}]: only text parts are supported in a system instruction.`);
  });
  if (req.cachedContent !== undefined)
    throw invalidArgument('cached_content is not supported by Ocellus: send the contents in the request or upload images with the Files API.', 'cached_content');

  req.safetySettings?.forEach((s, i) => {
    if (!HARM_CATEGORIES.has(s.category))
      throw invalidArgument(`Invalid value at 'safety_settings[${i}].category': "${s.category}" is not a HarmCategory.`);
    if (!THRESHOLDS.has(s.threshold))
      throw invalidArgument(`Invalid value at 'safety_settings[${i}].threshold': "${s.threshold}" is not a HarmBlockThreshold.`);
  });

  req.tools?.forEach((tool, i) => {
    for (const key of Object.keys(tool)) {
      if (!SUPPORTED_TOOL_KEYS.has(key))
        throw invalidArgument(
          `tools[${i}].${key} is not available in Ocellus (it runs offline without search, code execution or URL access).`,
          `tools[${i}]`,
        );
    }
  });
  const mode = (req.toolConfig?.functionCallingConfig as { mode?: string } | undefined)?.mode;
  if (mode === 'ANY' || mode === 'VALIDATED')
    throw invalidArgument(`tool_config.function_calling_config.mode ${mode} requires a function call, which the Ocellus engine does not make; use AUTO or NONE.`);

  const g = req.generationConfig;
  if (!g) return;
  const range = (v: number | undefined, lo: number, hi: number, field: string) => {
    if (v !== undefined && (v < lo || v > hi))
      throw invalidArgument(`Invalid value at 'generation_config.${field}': ${v} is out of range [${lo}, ${hi}].`, `generation_config.${field}`);
  };
  range(g.temperature, 0, 2, 'temperature');
  range(g.topP, 0, 1, 'top_p');
  range(g.candidateCount, 1, 8, 'candidate_count');
  if (g.topK !== undefined && g.topK < 0) range(g.topK, 0, Infinity, 'top_k');
  if (g.maxOutputTokens !== undefined && g.maxOutputTokens < 1) range(g.maxOutputTokens, 1, Infinity, 'max_output_tokens');
  if (g.responseLogprobs || (g.logprobs ?? 0) > 0)
    throw invalidArgument('response_logprobs / logprobs are not supported: the Ocellus engine does not sample tokens from a distribution.');
  const modalities = (g.responseModalities ?? []).filter((m) => m.toUpperCase() !== 'TEXT');
  if (modalities.length > 0)
    throw invalidArgument(`response_modalities ${modalities.join(', ')} are not supported: Ocellus answers in text only.`, 'generation_config.response_modalities');
  if (g.speechConfig) throw invalidArgument('speech_config is not supported: Ocellus answers in text only.', 'generation_config.speech_config');
  if (g.imageConfig) throw invalidArgument('image_config is not supported: Ocellus does not generate images.', 'generation_config.image_config');
  if (g.thinkingConfig?.thinkingBudget !== undefined && g.thinkingConfig.thinkingLevel !== undefined)
    throw invalidArgument('thinking_budget and thinking_level cannot both be set.', 'generation_config.thinking_config');

  const mime = g.responseMimeType;
  if (mime !== undefined && !(RESPONSE_MIME_TYPES as readonly string[]).includes(mime))
    throw invalidArgument(
      `response_mime_type: allowed mimetypes are ${RESPONSE_MIME_TYPES.map((m) => `\`${m}\``).join(', ')}, but got ${mime}.`,
      'generation_config.response_mime_type',
    );
  const hasSchema = g.responseSchema !== undefined || g.responseJsonSchema !== undefined;
  if (hasSchema && mime !== 'application/json' && mime !== 'text/x.enum')
    throw invalidArgument('response_mime_type must be application/json or text/x.enum when a response schema is set.', 'generation_config.response_mime_type');
  if (mime === 'text/x.enum' && !hasSchema)
    throw invalidArgument('response_mime_type text/x.enum needs a response_schema with an enum.', 'generation_config.response_schema');
}
