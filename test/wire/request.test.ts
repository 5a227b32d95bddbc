import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/errors.js';
import { generateContentRequestSchema, parseRequest } from '../../src/wire/request.js';

const parse = (body: unknown) => parseRequest(generateContentRequestSchema, body);
const error = (body: unknown): ApiError => {
  try {
    parse(body);
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected a rejection');
};

describe('GenerateContentRequest parsing', () => {
  it('accepts what the Python SDK sends: floats for ints, snake_case nested keys', () => {
    const req = parse({
      contents: [{ parts: [{ text: 'hi' }], role: 'user' }],
      generationConfig: { topK: 40.0, maxOutputTokens: '128', thinkingConfig: { include_thoughts: false, thinking_budget: 0 } },
    });
    expect(req.generationConfig?.topK).toBe(40);
    expect(req.generationConfig?.maxOutputTokens).toBe(128);
    expect(req.generationConfig?.thinkingConfig?.thinkingBudget).toBe(0);
  });

  it('rejects an unknown field with Gemini\'s message, echoing the key as sent', () => {
    const e = error({ contents: [{ parts: [{ text: 'hi' }] }], generation_config: { temprature: 1 } });
    expect(e.httpStatus).toBe(400);
    expect(e.status).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`Invalid JSON payload received. Unknown name "temprature" at 'generation_config': Cannot find field.`);
  });

  it('names the part of an unknown part field', () => {
    const e = error({ contents: [{ parts: [{ text: 'a' }, { inline_data: { data: 'x', mime_typ: 'image/png' } }] }] });
    expect(e.message).toContain(`Unknown name "mime_typ" at 'contents[0].parts[1].inline_data'`);
  });

  it('rejects a part with two data fields and an empty part', () => {
    expect(error({ contents: [{ parts: [{ text: 'a', fileData: { fileUri: 'files/x' } }] }] }).message).toMatch(
      /contents\[0\]\.parts\[0\].*exactly one data field/,
    );
    expect(error({ contents: [{ parts: [{}] }] }).message).toMatch(/one data field/);
  });

  it('rejects a missing contents and a non-object body', () => {
    expect(error({}).message).toMatch(/contents/);
    expect(error([1, 2]).message).toMatch(/JSON object/);
  });

  it('rejects a wrong type naming the field', () => {
    const e = error({ contents: [{ parts: [{ text: 'a' }] }], generationConfig: { temperature: 'hot' } });
    expect(e.message).toMatch(/^Invalid value at 'generation_config.temperature'/);
  });
});
