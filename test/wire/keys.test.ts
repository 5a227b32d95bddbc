import { describe, expect, it } from 'vitest';
import { normaliseKeys } from '../../src/wire/keys.js';

describe('normaliseKeys', () => {
  it('rewrites snake_case at every depth', () => {
    expect(
      normaliseKeys({
        generation_config: { thinking_config: { thinking_budget: 0, include_thoughts: false }, max_output_tokens: 5 },
        contents: [{ parts: [{ inline_data: { mime_type: 'image/png', data: 'x' } }, { file_data: { file_uri: 'files/a' } }] }],
      }),
    ).toEqual({
      generationConfig: { thinkingConfig: { thinkingBudget: 0, includeThoughts: false }, maxOutputTokens: 5 },
      contents: [{ parts: [{ inlineData: { mimeType: 'image/png', data: 'x' } }, { fileData: { fileUri: 'files/a' } }] }],
    });
  });

  it("never renames the user's property names inside a response schema", () => {
    const out = normaliseKeys({
      generation_config: {
        response_schema: {
          type: 'OBJECT',
          properties: { box_2d: { type: 'ARRAY', items: { type: 'INTEGER' }, max_items: 4 }, my_label: { type: 'STRING' } },
          required: ['box_2d'],
          property_ordering: ['box_2d', 'my_label'],
        },
        response_json_schema: { type: 'object', properties: { snake_key: { type: 'string' } } },
      },
    }) as { generationConfig: Record<string, Record<string, unknown>> };
    const schema = out.generationConfig.responseSchema!;
    expect(Object.keys(schema.properties as object)).toEqual(['box_2d', 'my_label']);
    expect((schema.properties as Record<string, Record<string, unknown>>).box_2d!.maxItems).toBe(4);
    expect(schema.required).toEqual(['box_2d']);
    expect(schema.propertyOrdering).toEqual(['box_2d', 'my_label']);
    expect(out.generationConfig.responseJsonSchema).toEqual({ type: 'object', properties: { snake_key: { type: 'string' } } });
  });
});

describe('normaliseKeys at depth', () => {
  it('normalises bodies as deep as the JSON parser lets through (issue 11: deeper ones are refused there, not overflowed here)', async () => {
    const { MAX_JSON_DEPTH, parseLenientJson } = await import('../../src/wire/lenient-json.js');
    // The deepest body parseLenientJson accepts: a schema chain down to the limit.
    // root, generation_config, `levels` schemas with items, and the innermost schema.
    const levels = MAX_JSON_DEPTH - 3;
    const text = `{"generation_config":{"response_schema":${'{"type":"ARRAY","max_items":2,"items":'.repeat(levels)}{"type":"STRING"}${'}'.repeat(levels)}}}`;
    let node = (normaliseKeys(parseLenientJson(text)) as { generationConfig: { responseSchema: Record<string, unknown> } }).generationConfig.responseSchema;
    let depth = 0;
    while (node.items) {
      expect(node.maxItems).toBe(2);
      node = node.items as Record<string, unknown>;
      depth++;
    }
    expect(depth).toBe(levels);
  });
});
