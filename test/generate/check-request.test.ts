import { describe, expect, it } from 'vitest';
import { checkRequest } from '../../src/generate/check-request.js';
import type { GenerateContentRequest } from '../../src/wire/request.js';

const base: GenerateContentRequest = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
const withConfig = (generationConfig: GenerateContentRequest['generationConfig'], extra: Partial<GenerateContentRequest> = {}) =>
  () => checkRequest({ ...base, generationConfig, ...extra });

describe('checkRequest: what Ocellus can honour', () => {
  it('accepts sampling settings, thinking, safety settings and AUTO function declarations', () => {
    expect(
      withConfig(
        { temperature: 0.2, topP: 0.9, topK: 40, seed: 7, candidateCount: 2, maxOutputTokens: 64, thinkingConfig: { thinkingBudget: 0 } },
        {
          safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }],
          tools: [{ functionDeclarations: [{ name: 'f' }] }],
        },
      ),
    ).not.toThrow();
  });

  it.each([
    ['logprobs', { responseLogprobs: true }, /logprobs/],
    ['audio output', { responseModalities: ['AUDIO'] }, /response_modalities AUDIO/],
    ['an unknown response MIME type', { responseMimeType: 'text/html' }, /allowed mimetypes/],
    ['a schema without JSON', { responseSchema: { type: 'STRING' } }, /application\/json or text\/x.enum/],
    ['enum without a schema', { responseMimeType: 'text/x.enum' }, /needs a response_schema/],
    ['temperature out of range', { temperature: 3 }, /temperature/],
    ['too many candidates', { candidateCount: 9 }, /candidate_count/],
    ['budget and level together', { thinkingConfig: { thinkingBudget: 1, thinkingLevel: 'LOW' as const } }, /thinking_budget and thinking_level/],
  ])('refuses %s with a 400 that names it', (_name, config, message) => {
    expect(withConfig(config)).toThrow(message);
  });

  it('refuses search grounding, forced function calls, cached contents and a bad role', () => {
    expect(() => checkRequest({ ...base, tools: [{ googleSearch: {} }] })).toThrow(/tools\[0\]\.googleSearch/);
    expect(() => checkRequest({ ...base, toolConfig: { functionCallingConfig: { mode: 'ANY' } } })).toThrow(/mode ANY/);
    expect(() => checkRequest({ ...base, cachedContent: 'cachedContents/x' })).toThrow(/cached_content/);
    expect(() => checkRequest({ contents: [{ role: 'system', parts: [{ text: 'x' }] }] })).toThrow(/valid role/);
    expect(() => checkRequest({ ...base, safetySettings: [{ category: 'HARM_CATEGORY_X', threshold: 'BLOCK_NONE' }] })).toThrow(/HarmCategory/);
  });
});
